"""The feed codec's fast paths: frame parsing, and 0B decoding equal to the FID-by-FID checked path."""

from __future__ import annotations

import random
import sys
from typing import Any

import orjson
import pytest

from bot.broker.kiwoom import codec
from bot.broker.kiwoom.codec import RealDecoder, parse_frame
from bot.clock import ManualClock, kst
from bot.domain.market import Tick
from bot.errors import ProtocolError

DAY = kst(2026, 11, 20, 10, 0, 0)
BASE = {
    "20": "165208", "10": "-20800", "11": "-50", "12": "-0.24", "15": "+82", "13": "30379732",
    "16": "+20900", "17": "+21000", "18": "-20700", "27": "-20850", "28": "-20800",
}  # fmt: skip
# Texts that convert, convert differently per FID kind, or are refused somewhere along the way.
NUMBERS = ["+20900", "-20900", "20900", "0", "+0", "-0", "", "0020900", " 20900", "20900 ", "1_000",
           "12a", "-", "+-5", "٣", "1e3", "20.5", "-0.24", "+1.05", "0.00", "-12.345", "5", "-5"]  # fmt: skip


def _outcome(call: Any) -> Tick | str:
    try:
        tick = call()
    except ProtocolError as exc:
        return f"error: {exc}"
    assert type(tick) is Tick
    return tick


def test_fast_path_matches_the_checked_path_with_warm_caches() -> None:
    """Random 0B values give the same Tick (or the same ProtocolError) from `_tick` as from
    `_tick_checked`, whether their texts are new to the decoder's caches or remembered."""
    rng = random.Random(11)
    decoder = RealDecoder(ManualClock(DAY))
    reference = RealDecoder(ManualClock(DAY))
    fids = [f for f in BASE if f != "20"]
    entries = []
    for _ in range(3000):
        values: dict[str, Any] = dict(BASE)
        for fid in rng.sample(fids, rng.randint(1, 4)):
            values[fid] = rng.choice(NUMBERS)
        entries.append((values, rng.choice(["005930", "005930_NX", "005930_AL", ""])))
    for _ in range(2):  # the second round hits the caches the first one filled
        for values, item in entries:
            fast = _outcome(lambda: decoder._tick(values, item, DAY))  # noqa: B023
            checked = _outcome(lambda: reference._tick_checked(values, item, DAY))  # noqa: B023
            assert fast == checked, (values, item)
    assert decoder._prices and decoder._signed and decoder._rates


def test_number_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """More distinct number texts than the bound empty a cache instead of growing it; values stay right."""
    monkeypatch.setattr(codec, "_NUMBER_CACHE_MAX", 8)
    decoder = RealDecoder(ManualClock(DAY))
    for n in range(1, 50):
        tick = decoder._tick({**BASE, "10": f"-{n * 5}", "15": f"+{n}", "12": f"-0.{n:02d}"}, "005930", DAY)
        assert (tick.price, tick.qty, tick.change_rate_bp) == (n * 5, n, -n)
        assert max(len(decoder._prices), len(decoder._signed), len(decoder._rates)) <= 8


def test_parse_frame_keeps_no_utf8_copy_in_the_frame_text() -> None:
    """A non-ASCII frame parses as orjson parses its text, without growing the str by a UTF-8 copy."""
    text = '{"trnm":"REAL","data":[{"type":"0B","name":"주식체결","item":"005930","values":{"10":"-20800"}}]}'
    size = sys.getsizeof(text)
    assert parse_frame(text) == orjson.loads(text.encode())
    assert sys.getsizeof(text) == size  # orjson.loads(text) would cache ~100 bytes of UTF-8 inside it
    with pytest.raises(ProtocolError, match="surrogates not allowed at char 0"):
        parse_frame('{"trnm":"\ud800"}')
