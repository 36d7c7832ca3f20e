"""apis.py: the REST table matches Kiwoom's catalogue and refuses bad requests before sending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.broker.kiwoom.apis import API_SPECS, ORDER_API_IDS, PRIORITY_API_IDS, spec_for
from bot.errors import InvalidRequest

CATALOGUE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "kiwoom-apis.json"


@pytest.fixture(scope="module")
def catalogue() -> dict[str, dict[str, Any]]:
    """The shared catalogue by api-id (skips when ../shared is not present)."""
    if not CATALOGUE.is_file():
        pytest.skip(f"Kiwoom catalogue not found at {CATALOGUE} (../shared/reference/kiwoom-apis.json)")
    return {entry["id"]: entry for entry in json.loads(CATALOGUE.read_text(encoding="utf-8"))}


def _response_names(entry: dict[str, Any]) -> set[str]:
    """Every response field name of a catalogue entry: top level, list names and list-row fields."""
    names: set[str] = set()
    for item in entry["res_body"]:
        names.add(item["key"])
        names.update(child["key"] for child in item["children"])
    return names


@pytest.mark.parametrize("api_id", sorted(API_SPECS))
def test_api_id_and_path_match_the_catalogue(api_id: str, catalogue: dict[str, dict[str, Any]]) -> None:
    """Every api-id exists in the catalogue, is a POST, and lives on the path we send it to."""
    assert api_id in catalogue, f"{api_id} is not in the catalogue"
    entry = catalogue[api_id]
    assert entry["method"] == "POST"
    assert API_SPECS[api_id].path == entry["path"]


@pytest.mark.parametrize("api_id", sorted(API_SPECS))
def test_request_fields_are_exactly_the_catalogue_params(
    api_id: str, catalogue: dict[str, dict[str, Any]]
) -> None:
    """Required + optional fields equal the catalogue's request params (no guessed, no missing name)."""
    spec = API_SPECS[api_id]
    params = {p["key"] for p in catalogue[api_id]["params"]}
    assert set(spec.required) | set(spec.optional) == params
    assert not set(spec.required) & set(spec.optional)


@pytest.mark.parametrize("api_id", sorted(API_SPECS))
def test_response_fields_exist_in_the_catalogue(api_id: str, catalogue: dict[str, dict[str, Any]]) -> None:
    """Every reply field our decoders read is a real field (top level, list name or list row)."""
    missing = set(API_SPECS[api_id].response_fields) - _response_names(catalogue[api_id])
    assert not missing, f"{api_id} reads unknown fields {sorted(missing)}"


def test_list_names_are_lists_in_the_catalogue(catalogue: dict[str, dict[str, Any]]) -> None:
    """The list names we page through are LIST fields of their TR."""
    for api_id, list_name in (
        ("kt00018", "acnt_evlt_remn_indv_tot"),
        ("ka10075", "oso"),
        ("ka10076", "cntr"),
    ):
        assert list_name in API_SPECS[api_id].response_fields
        types = {item["key"]: item["type"] for item in catalogue[api_id]["res_body"]}
        assert types[list_name] == "LIST"


def test_condition_trs_and_websocket_are_not_rest() -> None:
    """Condition search TRs (ka10171–ka10174) are WebSocket frames only (§13.9) and not in the table."""
    for api_id in ("ka10171", "ka10172", "ka10173", "ka10174"):
        assert api_id not in API_SPECS
    assert all("websocket" not in spec.path for spec in API_SPECS.values())


def test_order_and_priority_sets() -> None:
    """Order TRs live on the order paths; cancels are in the priority lane; reads are not orders."""
    assert {"kt10000", "kt10001", "kt10002", "kt10003"} <= ORDER_API_IDS
    for api_id in ORDER_API_IDS:
        assert API_SPECS[api_id].path in ("/api/dostk/ordr", "/api/dostk/crdordr")
        assert API_SPECS[api_id].is_order
    assert PRIORITY_API_IDS == {"kt10003", "kt10009"}
    assert not API_SPECS["kt00018"].is_order and not API_SPECS["ka10075"].is_order


def test_unknown_api_id_is_refused_by_name() -> None:
    """An api-id we do not know raises InvalidRequest naming it."""
    with pytest.raises(InvalidRequest, match="ka99999"):
        spec_for("ka99999")


def test_missing_required_field_names_api_id_and_field() -> None:
    """A missing required field raises InvalidRequest naming the api-id and the field."""
    with pytest.raises(InvalidRequest, match=r"ka10075.*'stex_tp'"):
        API_SPECS["ka10075"].check_fields({"all_stk_tp": "0", "trde_tp": "0"})


def test_unknown_field_is_refused_by_name() -> None:
    """A field the TR does not take (a typo) is refused, naming it."""
    with pytest.raises(InvalidRequest, match="'stk_code'"):
        API_SPECS["ka10001"].check_fields({"stk_cd": "005930", "stk_code": "005930"})


def test_non_string_values_are_refused() -> None:
    """Every body value must be a string (Kiwoom bodies are all strings)."""
    with pytest.raises(InvalidRequest, match=r"kt00001.*'qry_tp'.*int"):
        API_SPECS["kt00001"].check_fields({"qry_tp": 3})


def test_optional_fields_may_be_omitted_or_empty() -> None:
    """Optional fields may be left out or sent empty."""
    API_SPECS["ka10076"].check_fields({"qry_tp": "0", "sell_tp": "0", "stex_tp": "0"})
    API_SPECS["ka10076"].check_fields(
        {"qry_tp": "0", "sell_tp": "0", "stex_tp": "0", "stk_cd": "", "ord_no": ""}
    )
