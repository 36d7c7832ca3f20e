"""Strategy plugins shipped with kiwoom-bot; `plugin = "<module>"` in a `[[strategy]]` table picks one.

- `condition_entry`: buy what a saved condition search inserts; take-profit, stop-loss, trailing
  stop, max holding time, exit on the condition's delete, forced exit before the close.
- `opening_range_breakout`: buy the first trade above the opening range of a symbol list.
- `scheduled_rebalance`: top a symbol list up to a KRW amount at one time, sell it at another.

A plugin is a module with a class `Plugin` (a `Params` pydantic model and synchronous
`on_start`/`on_event` hooks; see `bot.engine.strategy`). Modules starting with `_` are shared
helpers, not plugins: `_params` (parameter pieces, % → basis points) and `_desk` (entries,
exits, stale orders and back-off, shared by the three plugins).
"""
