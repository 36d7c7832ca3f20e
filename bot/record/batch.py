"""The pipe format between `SessionRecorder` and its writer child: one length-prefixed buffer per batch.

A batch is a header (`n` records; whether monotonic readings follow; the wall-minus-monotonic offset
in ns otherwise), then `n` kind bytes (0 ws, 1 rest), `n` int64 stamps (nanoseconds since the epoch),
`n` float64 monotonic readings (or none: each is the stamp minus the offset), `n` uint32 payload
lengths and the payloads back to back: a ws payload is the frame's UTF-8 bytes as received, a rest
payload the record's JSON after its `mono` (`format.rest_tail`, secrets already masked). Both ends
run on the same machine, so native byte order is used. Packing is a few C-level passes over the
batch and no copy of the frames: the parent's cost per record stays far below a frame's decode.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from bot.record.format import rest_tail

WS = 0
REST = 1
HEADER = struct.Struct("=I?q")
PER_RECORD = 1 + 8 + 4  # kind, stamp, length (+ 8 with monotonic readings)
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


def pack(payloads: list[Any], stamps: array[int], monos: array[float] | int, rest_at: list[int]) -> list[Any]:
    """The pipe bytes of the queued records, as buffers for `os.writev` (the frames are not copied here:
    the kernel copies them into the pipe). Payloads are ws frame bytes, and at the `rest_at` indices
    tuples of `SessionRecorder.rest` arguments, serialised (masked) here, in place. `monos` is each
    record's monotonic reading, or the wall-minus-monotonic offset (ns) to derive them from the stamps."""
    kinds = bytearray(len(payloads))
    for i in rest_at:
        kinds[i] = REST
        payloads[i] = rest_tail(*payloads[i]).encode("utf-8", "replace")
    lengths = array("I", map(len, payloads))
    if isinstance(monos, int):
        head, readings = HEADER.pack(len(payloads), False, monos), b""
    else:
        head, readings = HEADER.pack(len(payloads), True, 0), monos.tobytes()
    return [head, kinds, stamps.tobytes(), readings, lengths.tobytes(), *payloads]


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
    n, with_monos, offset = HEADER.unpack(head)
    body = memoryview(_read_exactly(stream, n * (PER_RECORD + 8 * with_monos)))
    stamps, monos, lengths = array("q"), array("d"), array("I")
    stamps.frombytes(body[n : 9 * n])
    at = 9 * n
    if with_monos:
        monos.frombytes(body[at : at + 8 * n])
        at += 8 * n
    lengths.frombytes(body[at:])
    blob = memoryview(_read_exactly(stream, sum(lengths)))
    stamp_list = stamps.tolist()
    mono_list = monos.tolist() if with_monos else [(s - offset) / 1e9 for s in stamp_list]
    payloads: list[bytes] = []
    at = 0
    for length in lengths:
        payloads.append(bytes(blob[at : at + length]))
        at += length
    return Batch(bytes(body[:n]), stamp_list, mono_list, payloads)
