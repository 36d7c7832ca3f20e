"""Store errors, sorted by what the daemon must do about them.

KiwoomBotError
├── StoreFailed ............. the journal cannot be written (disk full, I/O error, read-only file,
│   │                         a write that hung past its deadline): HALT trading and tell the operator.
│   │                         The store flips into a failed state that rejects further writes at once.
│   ├── StoreTimeout ........ a write was still queued when its deadline passed: it was withdrawn and
│   │                         nothing was written (the store is overloaded: HALT as for StoreFailed)
│   └── SchemaMismatch ...... the database was written by a newer version of the code (or, for a
│                             read-only opener, an older one): refuse to run
└── JournalConflict ......... a write contradicts what the journal already holds; it was rolled
    │                         back, nothing was written and the store stays usable
    ├── UnknownIntent ....... no intent with that id
    ├── DuplicateIntent ..... the intent id, or the order number for that day, is already recorded
    ├── FillConflict ........ the same fill key arrived with a different quantity, price, code or side
    └── Overfill ............ the cumulative filled quantity would exceed the order quantity (R7: HALT)
"""

from __future__ import annotations

from bot.errors import KiwoomBotError


class StoreFailed(KiwoomBotError):
    """The journal could not be written; trading must halt (invariant 3) and the operator be told."""


class StoreTimeout(StoreFailed):
    """A write waited in the queue past its deadline and was withdrawn: nothing was written."""


class SchemaMismatch(StoreFailed):
    """The database's schema version is not one this code can use."""


class JournalConflict(KiwoomBotError):
    """A write contradicts the journal; it was rolled back and the store remains usable."""


class UnknownIntent(JournalConflict, LookupError):
    """No intent with the given id (or order number) is recorded."""


class DuplicateIntent(JournalConflict):
    """The intent id, or the broker order number for that trading day, is already recorded."""


class FillConflict(JournalConflict):
    """A fill key already recorded arrived with different content, or a fill does not match its intent."""


class Overfill(JournalConflict):
    """Applying the fill would make the filled quantity exceed the order quantity; nothing was written."""
