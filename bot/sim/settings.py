"""The simulator's settings: one frozen object, validated on construction, defaults per §13.11."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.clock import kst

# The only credentials the simulator accepts. They are test fixtures, not secrets: the simulator is a
# loopback peer that never sees a real key. Same shape as Kiwoom's (long URL-safe strings).
SIM_APPKEY = "SIMAPPKEYkiwoombotloopbackexchange0000000000"
SIM_SECRETKEY = "SIMSECRETkiwoombotloopbackexchange000000000000000000"

RateLimitStyle = Literal["rc5", "http429"]


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything that shapes one simulator run; numbers are in the units their names say."""

    seed: int = 1
    appkey: str = SIM_APPKEY
    secretkey: str = SIM_SECRETKEY
    # 2026-11-20 is a Friday and a normal KRX day (the CSAT late open is the 19th). 09:00 means the
    # default simulator opens with the opening match on its first step and then trades continuously.
    start: datetime = field(default_factory=lambda: kst(2026, 11, 20, 9, 0))
    speed: float = 1.0
    rest_rate_per_s: float = 5.0
    rate_limit_style: RateLimitStyle = "rc5"
    ping_interval_s: float = 2.0
    max_unanswered_pings: int = 2
    token_lifetime_s: float = 86_400
    rest_page_size: int = 20
    condition_page_size: int = 10
    market_step_s: float = 1.0
    cash_krw: int = 100_000_000
    account_no: str = "8100123411"
    max_realtime_conditions: int = 10
    max_reg_items: int = 100
    ping_before_login_ack: bool = True
    extra_listings: int = 0  # synthetic calm symbols beyond the well-known ones (load tests)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("SimSettings.start must be timezone-aware (use bot.clock.kst)")
        positive = {
            "speed": self.speed,
            "rest_rate_per_s": self.rest_rate_per_s,
            "ping_interval_s": self.ping_interval_s,
            "token_lifetime_s": self.token_lifetime_s,
            "market_step_s": self.market_step_s,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"SimSettings.{name} must be > 0, got {value!r}")
        counts = {
            "max_unanswered_pings": self.max_unanswered_pings,
            "rest_page_size": self.rest_page_size,
            "condition_page_size": self.condition_page_size,
            "max_realtime_conditions": self.max_realtime_conditions,
            "max_reg_items": self.max_reg_items,
        }
        for name, count in counts.items():
            if count < 1:
                raise ValueError(f"SimSettings.{name} must be >= 1, got {count!r}")
        if self.rate_limit_style not in ("rc5", "http429"):
            style = self.rate_limit_style
            raise ValueError(f"SimSettings.rate_limit_style must be 'rc5' or 'http429', got {style!r}")
        if not 0 <= self.extra_listings <= 9_999:
            raise ValueError(f"SimSettings.extra_listings must be 0-9999, got {self.extra_listings}")
        if self.cash_krw < 0:
            raise ValueError(f"SimSettings.cash_krw must be >= 0, got {self.cash_krw}")
        if len(self.account_no) != 10 or not self.account_no.isdigit():
            raise ValueError(f"SimSettings.account_no must be 10 digits, got {self.account_no!r}")
        if not self.appkey or not self.secretkey:
            raise ValueError("SimSettings.appkey and secretkey must be non-empty")

    def __repr__(self) -> str:
        return (
            f"SimSettings(seed={self.seed}, start={self.start.isoformat()}, speed={self.speed}, "
            f"rest_rate_per_s={self.rest_rate_per_s}, rate_limit_style={self.rate_limit_style!r}, "
            f"market_step_s={self.market_step_s}, cash_krw={self.cash_krw})"
        )
