"""The pipe format between `SessionRecorder` and its writer child: a small header and per-record columns
on the pipe, the payload bytes in a shared-memory ring (or inline after the columns).

A batch on the pipe is a header (`n` records; whether monotonic readings follow; the wall-minus-
monotonic offset in ns otherwise; where its payload blob is: a ring offset, or -1 when it follows
inline; the blob's size; and the ring position the child releases once it has written the batch),
then `n` kind bytes (0 ws, 1 rest), `n` int64 stamps (nanoseconds since the epoch), `n` float64
monotonic readings (or none: each is the stamp minus the offset) and `n` uint32 payload lengths. The
blob is the payloads back to back: a ws payload is the frame's UTF-8 bytes as received, a rest payload
the record's JSON after its `mono` (`format.rest_tail`, secrets already masked). Both ends run on the
same machine, so native byte order is used.

Why a ring: writing the payloads to the pipe cost the trading thread ~0.4-1.4 us per 600-byte frame
(pipe pages are allocated, charged and freed per write while the child reads), more than the frame's
whole share of a 5 % budget; the payloads are copied into shared memory instead, by a worker thread
while the GIL is released (`process.py`), and only the ~13-21 bytes per record of columns use the pipe.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import IO, Any

from bot.record.format import rest_tail

WS = 0
REST = 1
INLINE = -1  # the blob follows the columns on the pipe
HEADER = struct.Struct("=I?qqQQ")  # n, with monos, offset, blob at, blob size, ring release
PER_RECORD = 1 + 8 + 4  # kind, stamp, length (+ 8 with monotonic readings)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class BatchTruncated(EOFError):
    """The pipe ended in the middle of a batch (the parent died while writing it)."""


@dataclass(frozen=True, slots=True)
class Packed:
    """One batch ready to send: its columns (kinds, stamps, monos or b"", lengths) and its payloads."""

    n: int
    offset: int | None  # wall-minus-monotonic ns when `monos` is empty
    columns: tuple[bytes, bytes, bytes, bytes]
    payloads: list[bytes]
    size: int  # the payloads' bytes, together

    def encoded(self) -> Packed:
        """This batch with its str payloads (the simulator's frames) encoded to UTF-8 and its lengths
        counted again (`pack` leaves them to the rare path that meets them)."""
        payloads = [p.encode("utf-8", "replace") if isinstance(p, str) else bytes(p) for p in self.payloads]
        lengths = array("I", map(len, payloads))
        return Packed(self.n, self.offset, (*self.columns[:3], lengths.tobytes()), payloads, sum(lengths))

    def header(self, at: int, release: int) -> bytes:
        """The pipe header for this batch with its blob at ring offset `at` (or INLINE)."""
        with_monos = self.offset is None
        return HEADER.pack(self.n, with_monos, 0 if with_monos else self.offset, at, self.size, release)


@dataclass(frozen=True, slots=True)
class Batch:
    """One decoded batch: per record its kind, stamp (ns), mono and payload length; the payloads' blob."""

    kinds: bytes
    stamps: list[int]
    monos: list[float]
    lengths: list[int]
    blob: bytes
    release: int  # the ring position to report once the batch is written

    @property
    def payloads(self) -> list[bytes]:
        """Each record's payload bytes (for tests and tools; the writer slices the blob itself)."""
        ends = list(accumulate(self.lengths))
        return [self.blob[end - length : end] for end, length in zip(ends, self.lengths, strict=True)]


def ns_of(when: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, exact to the microsecond."""
    return (when - _EPOCH) // _ONE_US * 1000


def pack(
    payloads: list[Any],
    stamps: list[int],
    monos: list[float],
    rest_at: list[int],
    offset: int | None,
    max_blob: int,
) -> list[Packed]:
    """The queued records as batches of at most `max_blob` payload bytes each (a larger single record goes
    alone). Per record: its payload, its stamp and, when `offset` is None, its monotonic reading (else
    each mono is the stamp minus `offset` ns). Payloads are ws frame bytes, and at the `rest_at` indices
    tuples of `SessionRecorder.rest` arguments, serialised (masked) here (in place). Every step is a
    C-level pass over the batch; the payloads themselves are not copied here. A str payload is counted
    in characters here: the writer notices and sends `Packed.encoded()` instead."""
    stamp_array = array("q", stamps)
    mono_bytes = array("d", monos).tobytes() if offset is None else b""
    kinds = bytearray(len(payloads))
    for i in rest_at:
        kinds[i] = REST
        payloads[i] = rest_tail(*payloads[i]).encode("utf-8", "replace")
    lengths = array("I", map(len, payloads))
    ends = list(accumulate(lengths))
    if not ends or ends[-1] <= max_blob:
        columns = (bytes(kinds), stamp_array.tobytes(), mono_bytes, lengths.tobytes())
        return [Packed(len(payloads), offset, columns, payloads, ends[-1] if ends else 0)]
    out: list[Packed] = []
    start = base = 0
    while start < len(ends):  # consecutive runs of records, cut by bisection
        stop = max(start + 1, bisect_right(ends, base + max_blob, start))
        columns = (
            bytes(kinds[start:stop]),
            stamp_array[start:stop].tobytes(),
            mono_bytes[8 * start : 8 * stop],
            lengths[start:stop].tobytes(),
        )
        out.append(Packed(stop - start, offset, columns, payloads[start:stop], ends[stop - 1] - base))
        start, base = stop, ends[stop - 1]
    return out


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise BatchTruncated(f"batch cut short: expected {size} bytes, got {len(data)}")
    return data


def read_batch(stream: IO[bytes], ring: Any = None) -> Batch | None:
    """The next batch from `stream` (its blob from `ring`, a buffer, when not inline); None at a clean
    end (EOF between batches)."""
    head = stream.read(HEADER.size)
    if not head:
        return None
    if len(head) != HEADER.size:
        raise BatchTruncated(f"batch header cut short ({len(head)} bytes)")
    n, with_monos, offset, at, size, release = HEADER.unpack(head)
    body = memoryview(_read_exactly(stream, n * (PER_RECORD + 8 * with_monos)))
    stamps, monos, lengths = array("q"), array("d"), array("I")
    stamps.frombytes(body[n : 9 * n])
    pos = 9 * n
    if with_monos:
        monos.frombytes(body[pos : pos + 8 * n])
        pos += 8 * n
    lengths.frombytes(body[pos:])
    if at == INLINE:
        blob = _read_exactly(stream, size)
    elif ring is None or at < 0 or at + size > len(ring):
        raise ValueError(f"batch blob at {at}+{size} is outside the shared ring")
    else:
        blob = bytes(ring[at : at + size])  # a copy: the parent reuses the space once we report `release`
    if sum(lengths) != size:
        raise ValueError(f"batch payload lengths add up to {sum(lengths)}, its blob has {size} bytes")
    stamp_list = stamps.tolist()
    mono_list = monos.tolist() if with_monos else [(s - offset) / 1e9 for s in stamp_list]
    return Batch(bytes(body[:n]), stamp_list, mono_list, lengths.tolist(), blob, release)
