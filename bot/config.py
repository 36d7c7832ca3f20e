"""The daemon's configuration: one TOML file validated by frozen pydantic models.

Every model forbids unknown keys, so a typo is an error, and every error names the file, the key
path, the value given and what was expected (`ConfigError`, exit 78). Secrets never live in the
TOML file: the app key and secret key come from environment variables or files (systemd
credentials) named in `[broker]`, and a value that may be a secret is never echoed in an error.

`load_config` is what the daemon uses (all or nothing); `inspect_config` is what
`kiwoom-bot check-config` uses: it also returns the sections that did validate, so the checks that
depend on them (strategy params, holiday file, credentials) can run in the same pass.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.domain.values import Venue
from bot.errors import ConfigError
from bot.notify.config import NotifyConfig

Mode = Literal["live", "paper", "dry-run", "simulator"]
PositiveKrw = Annotated[int, Field(gt=0)]
MODES_NEEDING_KEYS: frozenset[str] = frozenset({"live", "paper", "dry-run"})
CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"  # set by systemd for units with LoadCredential=

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_CROSS = "config_cross"  # pydantic error type of the checks that span sections


class _Model(BaseModel):
    """Base for every config section: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


_M = TypeVar("_M", bound=_Model)


class ThrottleConfig(_Model):
    """REST pacing shared by every call of the process (kiwoom-protocol.md §3.4, §13.6)."""

    requests_per_s: float | None = Field(default=None, gt=0, description="default: 5 live, 1 paper")
    per_api_min_interval_s: float = Field(default=0.0, ge=0)


def _check_url(url: str, schemes: tuple[str, str]) -> str:
    """An absolute URL of one of `schemes`; the plain-text scheme only towards this machine."""
    if not url:
        return url
    parts = urlsplit(url)
    example = (
        "https://api.kiwoom.com" if schemes[0] == "http" else "wss://api.kiwoom.com:10000/api/dostk/websocket"
    )
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(
            f"expected an absolute {schemes[1]}:// URL like {example!r}, or empty for the default"
        )
    if parts.username or parts.password:
        raise ValueError("expected a URL without user:password@ (keys come from the environment, never URLs)")
    if parts.query or parts.fragment:
        raise ValueError(f"expected a base URL without ?query or #fragment, like {example!r}")
    if parts.scheme == schemes[0] and parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError(
            f"expected {schemes[1]}:// for a remote host (plain {schemes[0]}:// would send keys and tokens "
            f"unencrypted; it is accepted only for 127.0.0.1, ::1 or localhost)"
        )
    return url


class BrokerConfig(_Model):
    """Which broker to talk to and how."""

    mode: Mode = "simulator"
    # dry-run only: whose market data to read (the app key must belong to that host), and the
    # simulated cash (0 = start from the account's orderable deposit, read once at startup)
    data_host: Literal["live", "paper"] = "paper"
    dry_run_cash_krw: int = Field(default=0, ge=0)
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
    # Give up starting (exit 75, systemd retries later) if no broker session comes up within this.
    startup_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    reconnect_base_s: float = Field(default=0.5, gt=0)
    reconnect_cap_s: float = Field(default=30.0, gt=0)
    # A session up at least this long that drops is retried at once, without the back-off.
    reconnect_steady_s: float = Field(default=5.0, gt=0)
    # Spacing of condition-search requests (CNSRREQ), also when resubscribing after a reconnect.
    condition_pace_s: float = Field(default=1.0, ge=0, le=10)

    @field_validator("rest_url")
    @classmethod
    def _rest_url(cls, url: str) -> str:
        return _check_url(url, ("http", "https"))

    @field_validator("ws_url")
    @classmethod
    def _ws_url(cls, url: str) -> str:
        return _check_url(url, ("ws", "wss"))

    @field_validator("appkey_env", "secretkey_env")
    @classmethod
    def _env_name(cls, name: str) -> str:
        if not _ENV_NAME.match(name):
            raise ValueError(
                "expected the NAME of an environment variable in capitals, like KIWOOM_APPKEY "
                "(the key itself never goes in this file)"
            )
        return name


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
    # An order must still be acceptable this many seconds after it is sent (R13): no IOC at 15:19:59.
    order_safety_margin_s: float = Field(default=2.0, ge=0, le=60)


class LogConfig(_Model):
    """Logging: level (changeable by SIGHUP) and format."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    # "auto": JSON lines when not on a terminal (systemd/journald), human-readable on a terminal
    format: Literal["auto", "json", "console"] = "auto"


class StoreConfig(_Model):
    """Where the SQLite journal lives."""

    path: Path = Path("state/kiwoom-bot.sqlite3")


class RecordConfig(_Model):
    """Recording of every inbound WebSocket frame and REST exchange, for `kiwoom-bot replay`."""

    enabled: bool = False
    # one gzip-compressed JSON-lines file per trading day (and per start), e.g. 2026-11-20.1.jsonl.gz
    dir: Path = Path("state/recordings")
    keep_days: int = Field(default=30, ge=1, le=3650)  # older recordings are deleted at start


class ReportConfig(_Model):
    """The end-of-day report: journal compared with the broker, sent to the operator and stored."""

    enabled: bool = True
    at: time = time(15, 45)  # KST; after the regular close (15:30) so the day's fills are all in


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


def _date_to_text(value: object) -> object:
    """A TOML date (2026-11-20 without quotes) is accepted like the string "2026-11-20"."""
    return value.isoformat() if type(value) is date else value


class SimulatorConfig(_Model):
    """Settings of the built-in exchange when `mode = "simulator"`."""

    seed: int = 1
    speed: float = Field(default=1.0, gt=0)
    start: time = time(8, 30)
    # YYYY-MM-DD; empty = the simulator's default trading day
    trading_day: Annotated[str, BeforeValidator(_date_to_text)] = ""
    cash_krw: int = Field(default=100_000_000, ge=0)  # the simulated account's starting deposit
    # REST requests/s the simulator answers before its rate-limit error (Kiwoom's real host: about 5)
    rest_rate_per_s: float = Field(default=5.0, gt=0)

    @field_validator("trading_day")
    @classmethod
    def _day(cls, text: str) -> str:
        if not text:
            return text
        try:
            day = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError("expected a date YYYY-MM-DD that exists, or empty for the simulator's default")
        if day.weekday() >= 5:
            raise ValueError(f"expected a weekday (KRX does not trade on a {day:%A})")
        return text


@dataclass(frozen=True, slots=True)
class CrossProblem:
    """A rule that spans keys: the key to blame, what is wrong, and the value given there."""

    key: str
    message: str
    given: object


def cross_problems(broker: BrokerConfig | None, strategies: Sequence[StrategyConfig]) -> list[CrossProblem]:
    """The checks no single key can make: live confirmation, paper venue, distinct names and variables."""
    out: list[CrossProblem] = []
    if broker is not None:
        if broker.mode == "live" and not broker.confirm_live:
            out.append(
                CrossProblem(
                    "broker.confirm_live",
                    "mode = 'live' sends real orders to your account: add `confirm_live = true` to [broker] "
                    "to confirm",
                    None,
                )
            )
        if broker.mode == "paper" and broker.venue is not Venue.KRX:
            out.append(
                CrossProblem(
                    "broker.venue",
                    "expected 'KRX' in paper mode (Kiwoom's paper server trades KRX only)",
                    str(broker.venue),
                )
            )
        if broker.appkey_env == broker.secretkey_env:
            out.append(
                CrossProblem(
                    "broker.secretkey_env",
                    "expected a different environment variable from appkey_env (two keys, two variables)",
                    broker.secretkey_env,
                )
            )
    names = [s.name for s in strategies]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        out.append(
            CrossProblem("strategy", f"strategy names must be unique, repeated: {', '.join(dupes)}", None)
        )
    return out


class BotConfig(_Model):
    """The whole file."""

    broker: BrokerConfig = BrokerConfig()
    risk: RiskConfig = RiskConfig()
    market: MarketConfig = MarketConfig()
    log: LogConfig = LogConfig()
    notify: NotifyConfig = NotifyConfig()
    store: StoreConfig = StoreConfig()
    record: RecordConfig = RecordConfig()
    report: ReportConfig = ReportConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    strategy: tuple[StrategyConfig, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> BotConfig:
        problems = cross_problems(self.broker, self.strategy)
        if problems:  # pydantic stops at one model-level error; `inspect_config` lists them all
            first = problems[0]
            context = {"message": first.message, "key": first.key, "given": first.given}
            raise PydanticCustomError(_CROSS, "{message}", context)
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


# --- error lines ---------------------------------------------------------------------------------
_SECRETISH = re.compile(r"key|secret|token|passw", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def shown_value(key: str, given: object) -> str:
    """` (given: …)` for an error line, with anything that may be a secret withheld."""
    last = key.rsplit(".", 1)[-1]
    if isinstance(given, dict) or (
        isinstance(given, list | tuple) and any(isinstance(g, dict) for g in given)
    ):
        return ""
    if _SECRETISH.search(last) and not last.endswith("_file") and not isinstance(given, bool):
        return " (given: a value not shown here because it may be a secret)"
    text = ("true" if given else "false") if isinstance(given, bool) else repr(given)  # TOML spelling
    return f" (given: {_URL_USERINFO.sub('***@', text)})"


def config_problems(path: Path, exc: ValidationError) -> list[str]:
    """One line per problem: file, key path, the value given and what was expected."""
    lines = []
    for err in exc.errors():
        if err["type"] == _CROSS:
            ctx = err.get("ctx") or {}
            key = str(ctx.get("key", ""))
            shown = "" if ctx.get("given") is None else shown_value(key, ctx.get("given"))
            lines.append(f"{path}: {key}: {ctx.get('message', err['msg'])}{shown}")
            continue
        key = _format_loc(tuple(err["loc"]))
        shown = "" if err["type"] == "missing" else shown_value(key, err.get("input"))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        lines.append(f"{path}: {key}: {msg}{shown}")
    return lines


# --- loading ---------------------------------------------------------------------------------------
def read_toml(path: Path) -> dict[str, Any]:
    """The decoded TOML document; ConfigError naming the file if it is missing or not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None


def load_config(path: Path) -> BotConfig:
    """Read and validate a TOML config; raise ConfigError listing every problem."""
    raw = read_toml(path)
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(config_problems(path, exc))) from None


@dataclass(frozen=True, slots=True)
class ConfigInspection:
    """What `inspect_config` found: the config if it is valid, every problem, and each usable section.

    A section is None when it did not validate; `strategies` holds (index, table) for every
    `[[strategy]]` table that validated on its own, so its params can still be checked.
    """

    config: BotConfig | None
    problems: list[str]
    broker: BrokerConfig | None = None
    market: MarketConfig | None = None
    simulator: SimulatorConfig | None = None
    strategies: list[tuple[int, StrategyConfig]] = field(default_factory=list)


def _salvage(model: type[_M], value: object) -> _M | None:
    """`value` validated as `model`, dropping the keys that fail (their defaults apply); None if hopeless.

    Only for the follow-up checks of `inspect_config`: the dropped keys' errors are already reported.
    """
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        if not isinstance(value, dict):
            return None
        bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
    try:
        return model.model_validate({k: v for k, v in value.items() if k not in bad})
    except ValidationError:
        return None


def inspect_config(path: Path) -> ConfigInspection:
    """Validate a config file and keep going past errors: every problem, plus the sections that are valid."""
    raw = read_toml(path)
    try:
        cfg = BotConfig.model_validate(raw)
    except ValidationError as exc:
        problems = config_problems(path, exc)
    else:
        return ConfigInspection(cfg, [], cfg.broker, cfg.market, cfg.simulator, list(enumerate(cfg.strategy)))
    broker = _salvage(BrokerConfig, raw.get("broker", {}))
    tables = raw.get("strategy", [])
    strategies: list[tuple[int, StrategyConfig]] = []
    if isinstance(tables, list):
        for i, table in enumerate(tables):
            strategy = _salvage(StrategyConfig, table)
            if strategy is not None:
                strategies.append((i, strategy))
    for problem in cross_problems(broker, [s for _, s in strategies]):
        shown = "" if problem.given is None else shown_value(problem.key, problem.given)
        line = f"{path}: {problem.key}: {problem.message}{shown}"
        if line not in problems:
            problems.append(line)
    market = _salvage(MarketConfig, raw.get("market", {}))
    simulator = _salvage(SimulatorConfig, raw.get("simulator", {}))
    return ConfigInspection(None, problems, broker, market, simulator, strategies)


# --- secrets ---------------------------------------------------------------------------------------
def _secret_file(file: Path, env: Mapping[str, str]) -> Path | None:
    """`file` with `$CREDENTIALS_DIRECTORY` / `${CREDENTIALS_DIRECTORY}` expanded (None if it is unset)."""
    text = str(file)
    for token in ("${" + CREDENTIALS_DIRECTORY + "}", "$" + CREDENTIALS_DIRECTORY):
        if token in text:
            base = env.get(CREDENTIALS_DIRECTORY, "")
            if not base:
                return None
            text = text.replace(token, base.rstrip("/"))
    return Path(text)


def _read_secret(label: str, key: str, file: Path, env: Mapping[str, str], source: str) -> tuple[str, str]:
    """(value, problem) for a secret kept in a file; exactly one of them is empty."""
    where = f"{source}: broker.{key}"
    path = _secret_file(file, env)
    if path is None:
        return "", (
            f"{where}: ${CREDENTIALS_DIRECTORY} is not set (systemd sets it for a unit with "
            f"LoadCredential=; outside systemd give a plain path) (given: {str(file)!r})"
        )
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        return (
            "",
            f"{where}: cannot read {path}: {exc.strerror} (expected a readable file holding the {label})",
        )
    except UnicodeDecodeError:
        return "", f"{where}: {path} is not UTF-8 text (expected a file holding only the {label})"
    if not value:
        return "", f"{where}: {path} is empty (expected a file holding the {label})"
    if mode & stat.S_IROTH:
        return "", (
            f"{where}: {path} is readable by every user (mode {stat.S_IMODE(mode):04o}); "
            f"expected a private file: chmod 600 {path}"
        )
    return value, ""


def credential_problems_and_values(
    cfg: BrokerConfig, env: Mapping[str, str], source: str
) -> tuple[list[str], list[str]]:
    """Every problem with the app key and secret key, and the values found (never put in a message)."""
    problems: list[str] = []
    values: list[str] = []
    for label, key, file, var in (
        ("app key", "appkey", cfg.appkey_file, cfg.appkey_env),
        ("secret key", "secretkey", cfg.secretkey_file, cfg.secretkey_env),
    ):
        if file is not None:
            value, problem = _read_secret(label, f"{key}_file", file, env, source)
        else:
            value = env.get(var, "").strip()
            problem = (
                ""
                if value
                else (
                    f"{source}: broker.{key}_env: the {label} is missing: set the environment variable {var} "
                    f"(or {key}_file in [broker] to a file holding it, e.g. a systemd credential)"
                )
            )
        if problem:
            problems.append(problem)
        values.append(value)
    if not problems and values[0] == values[1]:
        problems.append(
            f"{source}: broker: the app key and the secret key are identical "
            "(expected two different values; check which one went where)"
        )
    return problems, values


def credential_problems(
    cfg: BrokerConfig, env: Mapping[str, str] | None = None, source: str = ""
) -> list[str]:
    """One line per problem with the secrets `cfg.mode` needs (none for the simulator); never a value."""
    if cfg.mode not in MODES_NEEDING_KEYS:
        return []
    return credential_problems_and_values(cfg, dict(os.environ) if env is None else env, source)[0]


def load_credentials(cfg: BrokerConfig, env: dict[str, str] | None = None, source: str = "") -> Credentials:
    """Fetch the app key and secret key from files or environment variables named in `[broker]`."""
    env = dict(os.environ) if env is None else env
    problems, values = credential_problems_and_values(cfg, env, source)
    if problems:
        raise ConfigError("\n".join(problems))
    return Credentials(values[0], values[1])
