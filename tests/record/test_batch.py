"""The recorder's pipe format: batches cut by payload bytes, read back whole, str payloads encoded."""

from __future__ import annotations

import io
from typing import Any

from bot.record.batch import INLINE, REST, WS, pack, read_batch

T0 = 1_795_651_201_000_000_000  # 2026-11-20 09:00:01 KST, in ns
OFFSET = T0 - 5_000_000_000  # monotonic readings start at 5 s


def _stamps(n: int) -> list[int]:
    return [T0 + i * 1000 for i in range(n)]


def _wire(batch: Any) -> io.BytesIO:
    """The batch as the child reads it with its payloads inline after the columns."""
    return io.BytesIO(b"".join([batch.header(INLINE, 0), *batch.columns, *batch.payloads]))


def test_batches_are_cut_by_payload_bytes_and_read_back_in_order() -> None:
    """Records go in runs of at most max_blob payload bytes (a bigger one alone), each read back whole."""
    payloads = [b"a" * 300, b"b" * 300, b"c" * 300, b"d" * 2000, b"e" * 10, "\ud55c\uae00"]
    rest = ("ka10001", "/api/dostk/stkinfo", b'{"stk_cd":"005930"}', 200, 1.5, "N", "", b"{}", None)
    batches = pack([*payloads, rest], _stamps(7), [], [6], OFFSET, 700)
    assert [b.n for b in batches] == [2, 1, 1, 3]
    assert all(b.size <= 700 for b in batches if b.n > 1)
    records: list[tuple[int, int, float, bytes]] = []
    for batch in batches:
        got = read_batch(_wire(batch.encoded()))
        assert got is not None
        records += zip(got.kinds, got.stamps, got.monos, got.payloads, strict=True)
    kinds, stamps, monos, data = zip(*records, strict=True)
    assert list(kinds) == [WS] * 6 + [REST]
    assert list(stamps) == [T0 + i * 1000 for i in range(7)]
    assert monos[0] == 5.0 and monos[6] == 5.000006
    assert list(data[:5]) == payloads[:5] and data[5] == "한글".encode()
    assert data[6].startswith(b'"api_id":"ka10001","path":"/api/dostk/stkinfo"')


def test_str_payloads_are_counted_again_once_encoded() -> None:
    """`pack` counts a str payload in characters; `encoded()` gives its UTF-8 bytes and their length."""
    (batch,) = pack(["한글 frame", b"raw"], _stamps(2), [], [], OFFSET, 1 << 20)
    assert batch.size == len("한글 frame") + 3
    fixed = batch.encoded()
    assert fixed.payloads == ["한글 frame".encode(), b"raw"] and fixed.size == len("한글 frame".encode()) + 3
    got = read_batch(_wire(fixed))
    assert got is not None and got.payloads == fixed.payloads and got.stamps == [T0, T0 + 1000]


def test_monotonic_readings_travel_when_the_clock_is_not_live() -> None:
    """Without an offset each record's own monotonic reading is sent."""
    (batch,) = pack([b"x", b"y"], [T0, T0 + 1], [12.5, 13.25], [], None, 1 << 20)
    got = read_batch(_wire(batch))
    assert got is not None and got.monos == [12.5, 13.25] and got.payloads == [b"x", b"y"]
