"""The trading engine: one kernel task owning state, strategies, risk, the order router."""
