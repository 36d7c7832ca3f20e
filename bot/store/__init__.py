"""The SQLite journal: the daemon's durable memory (invariants I2 and I5 rest on it).

Modules: `schema` (migrations), `connection` (PRAGMAs), `writer` (the single writer task, group
commit, failure state), `writes` (transaction bodies), `reader` (read-only queries), `store` (the
public `Store`), `control` (the operator's kill switch), `pnl` (average-cost arithmetic), `codec`
(time and JSON text), `rows` and `models` (records), `errors`.
"""

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
    TradingState,
    TradingStateRecord,
)
from bot.store.reader import JournalQueries, StoreReader
from bot.store.schema import SCHEMA_VERSION
from bot.store.store import Store

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
    "SchemaMismatch",
    "Store",
    "StoreFailed",
    "StoreReader",
    "StoreTimeout",
    "TradingState",
    "TradingStateRecord",
    "UnknownIntent",
    "change_trading_state",
]
