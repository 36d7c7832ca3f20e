"""Stored text forms: fixed-width KST instants, JSON details, and no secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import kst
from bot.domain.values import Side
from bot.store import Store
from bot.store.codec import decode_detail, encode_detail, format_time, parse_time

from .helpers import at, raw_counts


def test_instants_are_stored_as_fixed_width_kst_text() -> None:
    """Any aware instant becomes `YYYY-MM-DDTHH:MM:SS.ffffff+09:00` and reads back equal."""
    utc = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    assert format_time(utc) == "2026-03-02T09:30:00.000000+09:00"
    assert format_time(kst(2026, 3, 2, 15, 30)) == "2026-03-02T15:30:00.000000+09:00"
    assert parse_time(format_time(utc)) == utc
    with pytest.raises(ValueError, match="fill time must be a timezone-aware datetime"):
        format_time(datetime(2026, 3, 2), field="fill time")


def test_details_are_compact_json_and_refuse_secrets() -> None:
    """Details are sorted JSON (Korean kept readable); secret-looking keys are refused at any depth."""
    text = encode_detail({"name": "거래량급증", "side": Side.BUY, "at": kst(2026, 3, 2, 9), "n": 1})
    assert text == '{"at":"2026-03-02T09:00:00.000000+09:00","n":1,"name":"거래량급증","side":"buy"}'
    assert decode_detail(text)["name"] == "거래량급증"
    for key in ("appkey", "secret_key", "Token", "access-token", "Authorization"):
        with pytest.raises(ValueError, match="looks like a secret"):
            encode_detail({"outer": {key: "x"}})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        encode_detail({"value": object()})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        encode_detail({"value": float("nan")})


@pytest.mark.anyio
async def test_secret_in_a_journal_detail_never_reaches_the_file(journal_path: Path) -> None:
    """`append_journal` refuses a token before anything is queued; kinds must be snake_case."""
    async with Store.open(journal_path) as store:
        with pytest.raises(ValueError, match=r"'auth\.token' looks like a secret"):
            await store.append_journal("reconnect", {"auth": {"token": "abc"}}, time=at(1))
        with pytest.raises(ValueError, match="snake_case"):
            await store.append_journal("Bad Kind", None, time=at(1))
    assert (await raw_counts(journal_path))["journal"] == 0
