"""The end-of-day report: the journal's day (trades, realized P&L after fees and tax, positions, denials,
reconnects, lost notifications) compared with the broker's view, stored once per day and sent to the
operator.

Modules: `model` (the frozen report and its JSON form), `compare` (journal vs broker, pure), `build`
(reading the journal, asking the broker through the `Broker` port), `notice` (the operator notice),
`text` (terminal tables), `schedule` (the daemon's task at `[report] at`), `cli` (`kiwoom-bot report`).
"""
