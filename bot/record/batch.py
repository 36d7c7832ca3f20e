"""The pipe format between `SessionRecorder` and its writer child: one length-prefixed buffer per batch.

A batch is `n` and the payload size (two native uint32), then `n` kind bytes (0 ws, 1 rest), `n` int64
stamps (nanoseconds since the epoch), `n` float64 monotonic readings, `n` uint32 payload lengths and
the payloads back to back: a ws payload is the frame's UTF-8 bytes as received, a rest payload the
record's JSON after its `mono` (`format.rest_tail`, secrets already masked). Both ends run on the
same machine, so native byte order is used. Packing is a handful of C-level passes over the batch:
the parent's cost per record stays far below a frame's decode.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from bot.record.format import rest_tail

WS = 0
REST = 1
HEADER = struct.Struct("=II")
PER_RECORD = 1 + 8 + 8 + 4  # kind, stamp, mono, length
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class BatchTruncated(EOFError):
    """The pipe ended in the middle of a batch (the parent died while writing it)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One decoded batch: per record its kind, stamp (ns), mono and payload bytes."""

    kinds: bytes
    stamps: list[int]
    monos: list[float]
    payloads: list[bytes]


def ns_of(when: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, exact to the microsecond."""
    return (when - _EPOCH) // _ONE_US * 1000


def _where(types: list[type], kind: type) -> Iterator[int]:
    """Indices of `kind` in `types` (list.index scans in C)."""
    i = -1
    while True:
        try:
            i = types.index(kind, i + 1)
        except ValueError:
            return
        yield i


def pack(batch: Sequence[tuple[Any, Any, Any]]) -> list[bytes]:
    """The pipe bytes of queued `(stamp, mono, payload)` records, as buffers for `os.writev` (the
    payloads are not copied here: the kernel copies them into the pipe).

    A stamp is `time.time_ns()` or the Clock's aware datetime; a payload is ws frame bytes (or text,
    encoded here) or a tuple of `SessionRecorder.rest` arguments (serialised here, masked).
    """
    stamps_t, monos, payloads_t = zip(*batch, strict=True)
    n = len(stamps_t)
    kinds = bytearray(n)
    stamps: Sequence[Any] = stamps_t
    payloads: Sequence[Any] = payloads_t
    stamp_types = list(map(type, stamps_t))
    if stamp_types.count(int) != n:
        stamps = list(stamps_t)
        for kind in set(stamp_types) - {int}:
            for i in _where(stamp_types, kind):
                stamps[i] = ns_of(stamps[i])
    payload_types = list(map(type, payloads_t))
    if payload_types.count(bytes) != n:
        converted = list(payloads_t)
        for kind in set(payload_types) - {bytes}:
            for i in _where(payload_types, kind):
                item = converted[i]
                if isinstance(item, str):
                    converted[i] = item.encode("utf-8", "replace")
                else:
                    converted[i] = rest_tail(*item).encode("utf-8", "replace")
                    kinds[i] = REST
        payloads = converted
    lengths = array("I", map(len, payloads))
    head = HEADER.pack(n, sum(lengths))
    return [head, bytes(kinds), array("q", stamps).tobytes(), array("d", monos).tobytes(), lengths.tobytes(),
            *payloads]  # fmt: skip


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise BatchTruncated(f"batch cut short: expected {size} bytes, got {len(data)}")
    return data


def read_batch(stream: IO[bytes]) -> Batch | None:
    """The next batch from `stream`; None at a clean end (EOF between batches)."""
    head = stream.read(HEADER.size)
    if not head:
        return None
    if len(head) != HEADER.size:
        raise BatchTruncated(f"batch header cut short ({len(head)} bytes)")
    n, size = HEADER.unpack(head)
    body = memoryview(_read_exactly(stream, n * PER_RECORD + size))
    stamps, monos, lengths = array("q"), array("d"), array("I")
    stamps.frombytes(body[n : 9 * n])
    monos.frombytes(body[9 * n : 17 * n])
    lengths.frombytes(body[17 * n : 21 * n])
    blob = body[21 * n :]
    payloads: list[bytes] = []
    at = 0
    for length in lengths:
        payloads.append(bytes(blob[at : at + length]))
        at += length
    return Batch(bytes(body[:n]), stamps.tolist(), monos.tolist(), payloads)
