"""kiwoom-bot: a rule-based trading daemon for Korean equities over Kiwoom's REST + WebSocket API."""

__version__ = "0.1.0"
