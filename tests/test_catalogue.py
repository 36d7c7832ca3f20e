"""Every api-id, path and field name the client and the simulator use exists in Kiwoom's catalogue.

The catalogue (`../shared/reference/kiwoom-apis.json`, MIT data) is read at test time, never copied.
Known catalogue errors are listed explicitly (kiwoom-protocol.md §13.1, §13.9).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

CATALOGUE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "kiwoom-apis.json"

# Fields the protocol document establishes from live traffic that the catalogue does not list.
# Each entry: (api-id or REAL type, field) → why it is allowed anyway.
DOCUMENTED_EXTRAS: dict[tuple[str, str], str] = {
    # kiwoom-protocol.md §7.4: newer Kiwoom example reads 9081 거래소구분 on condition pushes.
    ("02", "9081"): "§8: newer Kiwoom example also reads 9081",
}


def _keys(fields: Iterable[dict[str, Any]]) -> set[str]:
    """All field names in a catalogue field tree, children included."""
    out: set[str] = set()
    for field in fields:
        out.add(field["key"])
        out |= _keys(field.get("children", []))
    return out


@pytest.fixture(scope="module")
def catalogue() -> dict[str, dict[str, Any]]:
    """The catalogue indexed by api-id (REAL types are indexed by their type code)."""
    if not CATALOGUE.exists():
        pytest.skip(f"Kiwoom API catalogue not found at {CATALOGUE} (shared/ is absent)")
    return {entry["id"]: entry for entry in json.loads(CATALOGUE.read_text(encoding="utf-8"))}


def _check_fields(
    catalogue: dict[str, dict[str, Any]], api_id: str, names: Iterable[str], section: str, who: str
) -> list[str]:
    """Names missing from the catalogue's request (`params`) or response (`res_body`) tree."""
    entry = catalogue[api_id]
    known = _keys(entry["params"] if section == "params" else entry["res_body"])
    if section == "res_body":
        known |= _keys(entry.get("res_headers", []))
    return [
        f"{who}: {api_id} {section} field {name!r} is not in the catalogue"
        for name in names
        if name not in known and (api_id, name) not in DOCUMENTED_EXTRAS
    ]


def test_client_rest_api_table_matches_catalogue(catalogue: dict[str, dict[str, Any]]) -> None:
    """Each REST api-id the client knows exists, on the catalogue's path, with the catalogue's fields."""
    from bot.broker.kiwoom.apis import API_SPECS

    problems: list[str] = []
    for api_id, spec in API_SPECS.items():
        if api_id not in catalogue:
            problems.append(f"client: unknown api-id {api_id}")
            continue
        if spec.path != catalogue[api_id]["path"]:
            problems.append(f"client: {api_id} path {spec.path} != catalogue {catalogue[api_id]['path']}")
        problems += _check_fields(catalogue, api_id, (*spec.required, *spec.optional), "params", "client")
        problems += _check_fields(catalogue, api_id, spec.response_fields, "res_body", "client")
    assert not problems, "\n".join(problems)
    assert {"kt10000", "kt10001", "kt10002", "kt10003", "kt00001", "kt00018", "ka10075", "ka10076"} <= set(
        API_SPECS
    )


def test_client_rest_table_has_no_websocket_trs() -> None:
    """Condition TRs and REAL types are WebSocket frames, not REST paths (§13.9)."""
    from bot.broker.kiwoom.apis import API_SPECS

    assert not [a for a, s in API_SPECS.items() if s.path.endswith("/websocket")]


def test_simulator_api_table_matches_catalogue(catalogue: dict[str, dict[str, Any]]) -> None:
    """Each REST api-id the simulator serves exists, on the catalogue's path, with the catalogue's fields."""
    from bot.sim.protocol import SIM_APIS

    problems: list[str] = []
    for api_id, spec in SIM_APIS.items():
        if api_id not in catalogue:
            problems.append(f"sim: unknown api-id {api_id}")
            continue
        if spec.path != catalogue[api_id]["path"]:
            problems.append(f"sim: {api_id} path {spec.path} != catalogue {catalogue[api_id]['path']}")
        problems += _check_fields(catalogue, api_id, (*spec.required, *spec.optional), "params", "sim")
        problems += _check_fields(catalogue, api_id, spec.response_fields, "res_body", "sim")
    assert not problems, "\n".join(problems)


def _real_fids(catalogue: dict[str, dict[str, Any]], real_type: str) -> set[str]:
    """FID keys the catalogue lists under a REAL type's `values` (02 lives in ka10173's push part)."""
    entry = catalogue["ka10173" if real_type == "02" else real_type]
    return _keys(entry["res_body"])


@pytest.mark.parametrize("who", ["client", "sim"])
def test_real_fids_match_catalogue(catalogue: dict[str, dict[str, Any]], who: str) -> None:
    """Each FID the codec reads and the simulator writes is listed for its REAL type."""
    if who == "client":
        from bot.broker.kiwoom.codec import REAL_FIDS_READ as fids
    else:
        from bot.sim.protocol import SIM_REAL_FIDS as fids
    problems = [
        f"{who}: REAL {rtype} FID {fid} is not in the catalogue"
        for rtype, names in fids.items()
        for fid in names
        if fid not in _real_fids(catalogue, rtype) and (rtype, fid) not in DOCUMENTED_EXTRAS
    ]
    assert not problems, "\n".join(problems)
    assert {"00", "04", "0B", "1h", "02"} <= set(fids)


def test_websocket_tr_fields_match_catalogue(catalogue: dict[str, dict[str, Any]]) -> None:
    """The condition-search TR fields the client sends and reads exist for ka10171–ka10174."""
    from bot.broker.kiwoom.codec import WS_TR_FIELDS

    problems = []
    for api_id, names in WS_TR_FIELDS.items():
        entry = catalogue[api_id]
        known = _keys(entry["params"]) | _keys(entry["res_body"])
        problems += [f"client: {api_id} field {n!r} is not in the catalogue" for n in names if n not in known]
    assert not problems, "\n".join(problems)
    assert set(WS_TR_FIELDS) == {"ka10171", "ka10172", "ka10173", "ka10174"}
