"""The daemon's configuration: one TOML file validated by frozen pydantic models.

Every model forbids unknown keys, so a typo is an error, and every error names the file, the key
path, the value given and what was expected (`ConfigError`, exit 78). Secrets never live in the
TOML file: the app key and secret key come from environment variables or files (systemd
credentials) named in `[broker]`.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.domain.values import Venue
from bot.errors import ConfigError

Mode = Literal["live", "paper", "dry-run", "simulator"]
PositiveKrw = Annotated[int, Field(gt=0)]


class _Model(BaseModel):
    """Base for every config section: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ThrottleConfig(_Model):
    """REST pacing shared by every call of the process (kiwoom-protocol.md §3.4, §13.6)."""

    requests_per_s: float | None = Field(default=None, gt=0, description="default: 5 live, 1 paper")
    per_api_min_interval_s: float = Field(default=0.0, ge=0)


class BrokerConfig(_Model):
    """Which broker to talk to and how."""

    mode: Mode = "simulator"
    confirm_live: bool = False
    account_label: str = ""
    venue: Venue = Venue.KRX
    rest_url: str = ""
    ws_url: str = ""
    appkey_env: str = "KIWOOM_APPKEY"
    secretkey_env: str = "KIWOOM_SECRETKEY"
    appkey_file: Path | None = None
    secretkey_file: Path | None = None
    state_dir: Path = Path("state")
    request_timeout_s: float = Field(default=5.0, gt=0, le=60)
    order_timeout_s: float = Field(default=3.0, gt=0, le=60)
    throttle: ThrottleConfig = ThrottleConfig()
    stale_after_s: float = Field(default=30.0, gt=0)
    reconnect_base_s: float = Field(default=0.5, gt=0)
    reconnect_cap_s: float = Field(default=30.0, gt=0)


class RiskConfig(_Model):
    """Limits every order passes before it reaches the broker."""

    max_order_krw: PositiveKrw = 5_000_000
    max_position_krw: PositiveKrw = 10_000_000
    max_gross_exposure_krw: PositiveKrw = 30_000_000
    max_open_positions: int = Field(default=10, gt=0)
    max_daily_loss_krw: PositiveKrw = 1_000_000
    max_orders_per_minute: int = Field(default=30, gt=0)
    allow_symbols: tuple[str, ...] = ()
    deny_symbols: tuple[str, ...] = ()
    exits_allowed_when_halted: bool = True
    cancel_working_orders_on_shutdown: bool = False

    @field_validator("allow_symbols", "deny_symbols")
    @classmethod
    def _codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        for code in codes:
            if len(code) != 6 or not code.isalnum():
                raise ValueError(f"stock codes are 6 characters like '005930', got {code!r}")
        return codes


class MarketConfig(_Model):
    """When entries are allowed."""

    no_entry_after_open_min: int = Field(default=5, ge=0, le=120)
    no_entry_before_close_min: int = Field(default=10, ge=0, le=120)
    holiday_file: Path | None = None


class StoreConfig(_Model):
    """Where the SQLite journal lives."""

    path: Path = Path("state/kiwoom-bot.sqlite3")


class StrategyConfig(_Model):
    """One `[[strategy]]` table; `params` is validated by the plugin's own `Params` model."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    plugin: str = Field(min_length=1)
    enabled: bool = True
    budget_krw: PositiveKrw
    max_positions: int = Field(default=3, gt=0)
    condition: str = ""
    symbols: tuple[str, ...] = ()
    params: dict[str, Any] = Field(default_factory=dict)


class SimulatorConfig(_Model):
    """Settings of the built-in exchange when `mode = "simulator"`."""

    seed: int = 1
    speed: float = Field(default=1.0, gt=0)
    start: time = time(8, 30)
    trading_day: str = ""  # YYYY-MM-DD; empty = the simulator's default trading day


class BotConfig(_Model):
    """The whole file."""

    broker: BrokerConfig = BrokerConfig()
    risk: RiskConfig = RiskConfig()
    market: MarketConfig = MarketConfig()
    store: StoreConfig = StoreConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    strategy: tuple[StrategyConfig, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> BotConfig:
        if self.broker.mode == "live" and not self.broker.confirm_live:
            raise ValueError(
                "broker.mode = 'live' sends real orders; add `confirm_live = true` to [broker] to confirm"
            )
        names = [s.name for s in self.strategy]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"strategy names must be unique, repeated: {', '.join(dupes)}")
        return self


class Credentials:
    """The app key and secret key; repr and str never show them."""

    __slots__ = ("appkey", "secretkey")

    def __init__(self, appkey: str, secretkey: str) -> None:
        self.appkey = appkey
        self.secretkey = secretkey

    def __repr__(self) -> str:
        return f"Credentials(appkey={mask_secret(self.appkey)}, secretkey=***)"

    __str__ = __repr__


def mask_secret(value: str) -> str:
    """Show at most the first 4 characters of a secret, enough to tell two keys apart."""
    return (value[:4] + "…") if len(value) > 8 else "***"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def config_problems(path: Path, exc: ValidationError) -> list[str]:
    """One line per problem: file, key path, the value given and what was expected."""
    lines = []
    for err in exc.errors():
        key = _format_loc(tuple(err["loc"]))
        given = err.get("input")
        shown = "" if err["type"] == "missing" or isinstance(given, dict) else f" (given: {given!r})"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        lines.append(f"{path}: {key}: {msg}{shown}")
    return lines


def load_config(path: Path) -> BotConfig:
    """Read and validate a TOML config; raise ConfigError listing every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(config_problems(path, exc))) from None


def load_credentials(cfg: BrokerConfig, env: dict[str, str] | None = None, source: str = "") -> Credentials:
    """Fetch the app key and secret key from files or environment variables named in `[broker]`."""
    env = dict(os.environ) if env is None else env
    values = []
    for label, file, var in (
        ("app key", cfg.appkey_file, cfg.appkey_env),
        ("secret key", cfg.secretkey_file, cfg.secretkey_env),
    ):
        if file is not None:
            try:
                value = file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{source}: broker.{label.replace(' ', '')}_file: cannot read {file}: {exc.strerror}"
                ) from None
        else:
            value = env.get(var, "").strip()
            if not value:
                raise ConfigError(
                    f"{source}: broker: the {label} is missing: set the environment variable {var} "
                    f"(or {label.replace(' ', '')}_file in [broker])"
                )
        values.append(value)
    return Credentials(values[0], values[1])
