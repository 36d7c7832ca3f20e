"""The shipped config files: they load, their strategies build, and the example documents every key."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot.config import (
    BrokerConfig,
    MarketConfig,
    RiskConfig,
    SimulatorConfig,
    StoreConfig,
    StrategyConfig,
    ThrottleConfig,
    load_config,
)
from bot.engine.strategy import build_strategy, find_plugin
from bot.market.calendar import TradingCalendar
from bot.sim.conditions import DEFAULT_CONDITIONS
from bot.sim.settings import SimSettings
from bot.sim.universe import LISTINGS

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
EXAMPLE = CONFIG_DIR / "bot.example.toml"
DEMO = CONFIG_DIR / "demo.toml"
HOLIDAYS = CONFIG_DIR / "holidays.example.toml"
SHIPPED_PLUGINS = {"condition_entry", "opening_range_breakout", "scheduled_rebalance"}

SECTIONS: dict[str, type[BaseModel]] = {
    "broker": BrokerConfig,
    "broker.throttle": ThrottleConfig,
    "risk": RiskConfig,
    "market": MarketConfig,
    "store": StoreConfig,
    "simulator": SimulatorConfig,
}


def _blocks(text: str) -> dict[str, list[str]]:
    """The lines of each `[section]` (by name) and of each `[[strategy]]` table (as 'strategy[i]')."""
    blocks: dict[str, list[str]] = {"": []}
    current = ""
    strategies = 0
    for line in text.splitlines():
        header = re.match(r"^\[(\[?)([a-z_.]+)\]?\]\s*$", line)
        if header and header.group(2) == "strategy" and header.group(1):
            current = f"strategy[{strategies}]"
            strategies += 1
            blocks[current] = []
            continue
        if header and header.group(2) != "strategy.params":
            current = header.group(2)
            blocks[current] = []
            continue
        blocks[current].append(line)
    return blocks


def _key_line(lines: list[str], key: str) -> int:
    """Index of the line setting `key` (`key = ...` or commented out as `# key = ...`), or -1."""
    pattern = re.compile(rf"^(# )?{re.escape(key)} = ")
    return next((i for i, line in enumerate(lines) if pattern.match(line)), -1)


def _comment_before(lines: list[str], index: int) -> list[str]:
    """The comment lines directly above line `index`, up to the previous key or blank line."""
    out: list[str] = []
    for line in reversed(lines[:index]):
        if not line.startswith("#") or re.match(r"^# [a-z_]+ = ", line):
            break
        out.insert(0, line)
    return out


def _stated_default(comment: list[str]) -> Any:
    """The value after the last 'Default:' of a comment, parsed as TOML ('not set' is None)."""
    texts = [line for line in comment if "Default: " in line]
    assert texts, "no 'Default:' stated"
    rest = texts[-1].split("Default: ", 1)[1].strip()
    if rest.startswith("not set"):
        return None
    if rest.startswith('"'):
        token = rest[: rest.index('"', 1) + 1]
    elif rest.startswith("["):
        token = rest[: rest.index("]") + 1]
    else:
        token = rest.split()[0].rstrip(".,")
    return tomllib.loads(f"v = {token}")["v"]


def test_example_loads_and_every_strategy_builds() -> None:
    """The example is valid, safe (paper, live not confirmed) and has one table per shipped plugin."""
    cfg = load_config(EXAMPLE)
    assert cfg.broker.mode == "paper" and cfg.broker.confirm_live is False
    assert {s.plugin for s in cfg.strategy} == SHIPPED_PLUGINS
    assert len(cfg.strategy) == 3
    for i, strategy in enumerate(cfg.strategy):
        built = build_strategy(strategy, str(EXAMPLE), i)
        assert type(built) is find_plugin(strategy.plugin)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_example_documents_every_key_with_its_real_default(section: str) -> None:
    """Every key of every section is in the example, under a comment whose stated default is the model's."""
    model = SECTIONS[section]
    lines = _blocks(EXAMPLE.read_text(encoding="utf-8"))[section]
    nested = {name for name, f in model.model_fields.items() if f.annotation is ThrottleConfig}
    for key in sorted(set(model.model_fields) - nested):
        index = _key_line(lines, key)
        assert index >= 0, f"[{section}] {key} is not in the example"
        comment = _comment_before(lines, index)
        assert len(" ".join(comment)) > 20, f"[{section}] {key} has no comment saying what it does"
        stated = _stated_default(comment)
        default = getattr(model(), key)
        assert getattr(model.model_validate({key: stated}), key) == default, f"[{section}] {key}"


def test_example_documents_every_strategy_key_and_every_plugin_param() -> None:
    """The table keys are explained once, and each plugin's table sets or shows every one of its params."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in StrategyConfig.model_fields:
        assert re.search(rf"^#\s+(\[strategy\.)?{key}\]?\s", text, re.MULTILINE), (
            f"strategy key {key} is not explained"
        )
    blocks = _blocks(text)
    for i, strategy in enumerate(load_config(EXAMPLE).strategy):
        lines = blocks[f"strategy[{i}]"]
        for key in find_plugin(strategy.plugin).Params.model_fields:
            index = _key_line(lines, key)
            assert index >= 0, f"{strategy.plugin}: param {key} is not in the example"
            paragraph = []
            for line in reversed(lines[: index + 1]):
                if not line.strip():
                    break
                paragraph.append(line)
            assert any(line.lstrip().startswith("#") for line in paragraph[1:]) or "#" in lines[index], (
                f"{strategy.plugin}: param {key} has no comment"
            )


def test_demo_trades_the_simulator_within_a_minute() -> None:
    """The demo runs in simulator mode on the simulator's own condition and symbols, a full day in < 60 s."""
    cfg = load_config(DEMO)
    assert cfg.broker.mode == "simulator"
    assert {s.plugin for s in cfg.strategy} == SHIPPED_PLUGINS
    for i, strategy in enumerate(cfg.strategy):
        build_strategy(strategy, str(DEMO), i)
    names = {c.name for c in DEFAULT_CONDITIONS}
    listed = {listing.code for listing in LISTINGS}
    for strategy in cfg.strategy:
        if strategy.plugin == "condition_entry":
            assert strategy.condition in names
        else:
            assert set(strategy.params["symbols"]) <= listed
    start = datetime.combine(date(2026, 11, 20), cfg.simulator.start)
    day = datetime.combine(date(2026, 11, 20), datetime.strptime("15:40", "%H:%M").time()) - start
    assert start.time() <= datetime.strptime("08:30", "%H:%M").time()
    assert day / timedelta(seconds=1) / cfg.simulator.speed < 45
    assert date.fromisoformat(cfg.simulator.trading_day).weekday() < 5
    assert TradingCalendar.load(None).is_trading_day(date.fromisoformat(cfg.simulator.trading_day))


def test_demo_limits_fit_the_simulated_account_and_leave_room_for_denials() -> None:
    """Limits fit the simulator's cash; the strategies want more slots and exposure than risk allows."""
    cfg = load_config(DEMO)
    assert cfg.simulator.cash_krw == SimSettings().cash_krw == 100_000_000
    assert cfg.risk.max_gross_exposure_krw <= cfg.simulator.cash_krw
    assert sum(s.budget_krw for s in cfg.strategy) <= cfg.simulator.cash_krw
    assert sum(s.max_positions for s in cfg.strategy) > cfg.risk.max_open_positions
    assert sum(s.budget_krw for s in cfg.strategy) > cfg.risk.max_gross_exposure_krw
    for strategy in cfg.strategy:
        size = strategy.params.get("position_krw") or strategy.params.get("krw_per_symbol")
        assert size is not None and size <= cfg.risk.max_order_krw
    assert cfg.broker.throttle.requests_per_s == cfg.simulator.rest_rate_per_s
    assert not cfg.broker.state_dir.is_absolute() and not cfg.store.path.is_absolute()


def test_holiday_example_changes_nothing_as_shipped() -> None:
    """Loaded as it is, the holiday example leaves every 2025-2026 day as the shipped calendar has it."""
    shipped = TradingCalendar.load(None)
    with_example = TradingCalendar.load(HOLIDAYS)
    assert with_example.years == shipped.years
    day = date(2025, 1, 1)
    while day <= date(2026, 12, 31):
        assert with_example.closure_reason(day) == shipped.closure_reason(day), day
        assert with_example.special_day(day) == shipped.special_day(day), day
        day += timedelta(days=1)


def test_holiday_example_entries_are_valid_when_uncommented(tmp_path: Path) -> None:
    """Every commented example entry is valid syntax: uncommented, the file adds 2027 and its entries."""
    text = HOLIDAYS.read_text(encoding="utf-8")
    uncommented = "\n".join(re.sub(r"^# (?=\[|[a-z_]+ = )", "", line) for line in text.splitlines())
    path = tmp_path / "holidays.toml"
    path.write_text(uncommented, encoding="utf-8")
    calendar = TradingCalendar.load(path)
    assert 2027 in calendar.years
    assert calendar.closure_reason(date(2027, 1, 1)) == "New Year's Day (신정)"
    assert calendar.is_trading_day(date(2026, 7, 17))  # the [[open]] example
    special = calendar.special_day(date(2027, 11, 18))
    assert special is not None and special.open_shift_minutes == 60
