"""The SQLite journal: the daemon's durable memory (invariants I2 and I5 rest on it).

Daemon side (one `Store` per journal; an advisory lock refuses a second daemon):

    async with Store.open(path) as store:
        await store.insert_intent(record)            # committed + fsynced on return → now send
        await store.transition_intent(id, IntentState.ACCEPTED, time=now, order_no="0000138")
        applied = await store.apply_fill(fill)       # False if (day, order_no, fill_no) was seen
        await store.append_journal("condition_hit", {...}, time=now, code="005930")
        state = await store.read_trading_state()     # poll each second; compare `version`

Operator side, while the daemon runs: `StoreReader.open(path)` (read-only queries) and
`change_trading_state(path, ...)` (the kill switch). Every instant comes from the caller; money is
`int` KRW; order and fill numbers are unique per KST trading day (Kiwoom restarts them daily).
On a disk error every write raises `StoreFailed` until `recover()`: the daemon must halt trading.

Modules: `schema` (migrations), `connection` (PRAGMAs), `lock` (single writer), `writer` (the writer
task, group commit, failure state), `writes` (transaction bodies), `validate` (input checks),
`reader` (read-only queries), `store` (the public `Store`), `control` (the operator's kill switch),
`pnl` (average-cost arithmetic), `codec` (time and JSON text), `rows` and `models` (records), `errors`.
"""

from bot.domain.values import TradingState
from bot.store.control import change_trading_state
from bot.store.errors import (
    DuplicateIntent,
    FillConflict,
    JournalConflict,
    Overfill,
    SchemaMismatch,
    StoreFailed,
    StoreTimeout,
    UnknownIntent,
)
from bot.store.models import (
    EXTERNAL_STRATEGY,
    DailyPnl,
    Fill,
    FillRow,
    FillSource,
    IntentEvent,
    JournalEntry,
    JournalKind,
    OrderRow,
    PositionRow,
    StoredReport,
    TradingStateRecord,
)
from bot.store.reader import JournalQueries, StoreReader
from bot.store.schema import SCHEMA_VERSION
from bot.store.store import Store
from bot.store.writer import Queued

__all__ = [
    "EXTERNAL_STRATEGY",
    "SCHEMA_VERSION",
    "DailyPnl",
    "DuplicateIntent",
    "Fill",
    "FillConflict",
    "FillRow",
    "FillSource",
    "IntentEvent",
    "JournalConflict",
    "JournalEntry",
    "JournalKind",
    "JournalQueries",
    "OrderRow",
    "Overfill",
    "PositionRow",
    "Queued",
    "SchemaMismatch",
    "Store",
    "StoreFailed",
    "StoreReader",
    "StoreTimeout",
    "StoredReport",
    "TradingState",
    "TradingStateRecord",
    "UnknownIntent",
    "change_trading_state",
]
