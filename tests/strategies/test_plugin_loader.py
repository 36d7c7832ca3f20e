"""The shipped plugins through the real loader: found by name, params validated, errors naming the key."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

import strategies.condition_entry
import strategies.opening_range_breakout
import strategies.scheduled_rebalance
from bot.config import StrategyConfig
from bot.engine.strategy import Strategy, build_strategy, find_plugin
from bot.errors import ConfigError
from strategies._rules import DeskRules

PLUGINS = ("condition_entry", "opening_range_breakout", "scheduled_rebalance")
MODULES = (strategies.condition_entry, strategies.opening_range_breakout, strategies.scheduled_rebalance)
NEEDS: dict[str, dict[str, Any]] = {
    "condition_entry": {},
    "opening_range_breakout": {"symbols": ["005930"]},
    "scheduled_rebalance": {"symbols": ["005930"], "krw_per_symbol": 1_000_000},
}


def build(plugin: str, params: dict[str, Any]) -> Strategy:
    """Build one plugin as strategy[0] of test.toml."""
    config = StrategyConfig(name="s1", plugin=plugin, budget_krw=3_000_000, params=params)
    return build_strategy(config, "test.toml", 0)


def error_of(plugin: str, params: dict[str, Any]) -> str:
    """The ConfigError message building a plugin with `params` raises."""
    with pytest.raises(ConfigError) as info:
        build(plugin, params)
    return str(info.value)


@pytest.mark.parametrize("name", PLUGINS)
def test_shipped_plugins_are_found_and_build_with_defaults(name: str) -> None:
    """Each shipped plugin is found by name and builds from its required params alone."""
    cls = find_plugin(name)
    assert cls.__module__ == f"strategies.{name}"
    assert isinstance(build(name, NEEDS[name]), Strategy)


@pytest.mark.parametrize("module", MODULES, ids=PLUGINS)
def test_the_docstring_example_builds(module: Any) -> None:
    """The TOML example in each plugin's docstring is a valid [[strategy]] table."""
    match = re.search(r"```toml\n(.*?)```", module.__doc__, re.S)
    assert match is not None
    table = tomllib.loads(match.group(1))["strategy"][0]
    assert isinstance(build_strategy(StrategyConfig.model_validate(table), "example.toml", 0), Strategy)


def test_private_helper_modules_are_not_plugins() -> None:
    """strategies/_desk.py, _params.py and _rules.py have no Plugin: asking for them is a lookup error."""
    for name in ("_desk", "_params", "_rules"):
        with pytest.raises(LookupError, match="no strategy plugin"):
            find_plugin(name)


@pytest.mark.parametrize("name", PLUGINS)
def test_typo_names_the_key(name: str) -> None:
    """A misspelt key is refused and named as strategy[0].params.<key>, with the value given."""
    message = error_of(name, {**NEEDS[name], "entry_timout_s": 30})
    assert message == "test.toml: strategy[0].params.entry_timout_s: unknown key (typo?) (given: 30)"


def test_typo_in_a_nested_order_spec() -> None:
    """A typo inside an inline table is named with its full path."""
    message = error_of("condition_entry", {"entry": {"order": "limit", "ofset_ticks": 1}})
    assert message.startswith("test.toml: strategy[0].params.entry.ofset_ticks: unknown key (typo?)")


def test_several_errors_are_all_reported() -> None:
    """Every bad key gets its own line."""
    message = error_of("condition_entry", {"take_profit_pc": 3.0, "stop_loss_pct": -1})
    lines = message.splitlines()
    assert len(lines) == 2
    assert "strategy[0].params.take_profit_pc: unknown key (typo?)" in message
    assert "strategy[0].params.stop_loss_pct: Input should be greater than 0 (given: -1)" in message


def test_percent_finer_than_a_basis_point_is_refused() -> None:
    """1.005 % is not a whole number of basis points."""
    message = error_of("condition_entry", {"take_profit_pct": 1.005})
    assert message.startswith(
        "test.toml: strategy[0].params.take_profit_pct: a percentage may have at most 2"
    )


def test_percentages_become_integer_basis_points() -> None:
    """3 (an int in TOML), 1.5 and 0.25 % become 300, 150 and 25 bp."""
    plugin = build("condition_entry", {"take_profit_pct": 3, "stop_loss_pct": 1.5, "trailing_stop_pct": 0.25})
    assert isinstance(plugin, strategies.condition_entry.Plugin)
    rules = DeskRules.for_trades(plugin.params)
    assert (rules.take_profit_bp, rules.stop_loss_bp, rules.trailing_bp) == (300, 150, 25)


def test_market_order_with_an_offset_is_refused() -> None:
    """offset_ticks means nothing for a market order."""
    message = error_of("condition_entry", {"exit": {"order": "market", "offset_ticks": 2}})
    assert message.startswith("test.toml: strategy[0].params.exit: offset_ticks applies to limit orders only")


def test_bad_order_kind_and_time() -> None:
    """An unknown order kind and an impossible time of day are named."""
    message = error_of("condition_entry", {"entry": {"order": "stop"}, "exit_before_close": "25:00"})
    assert "strategy[0].params.entry.order: Input should be 'limit' or 'market' (given: 'stop')" in message
    assert "strategy[0].params.exit_before_close:" in message


def test_symbols_are_validated() -> None:
    """Symbols must be six-character codes, listed once, at least one."""
    assert "strategy[0].params.symbols: Field required" in error_of("opening_range_breakout", {})
    assert "stock code must be 6 characters" in error_of("opening_range_breakout", {"symbols": ["5930"]})
    assert "repeated: 005930" in error_of("opening_range_breakout", {"symbols": ["005930", "005930"]})


def test_sell_at_must_follow_buy_at() -> None:
    """A rebalance selling before it buys is refused, naming sell_at."""
    params = {**NEEDS["scheduled_rebalance"], "buy_at": "10:00", "sell_at": "09:30"}
    assert error_of("scheduled_rebalance", params).startswith(
        "test.toml: strategy[0].params.sell_at: must be later than buy_at (10:00:00)"
    )


def test_params_are_frozen() -> None:
    """A plugin's params cannot be changed after validation."""
    plugin = build("condition_entry", {})
    assert isinstance(plugin, strategies.condition_entry.Plugin)
    with pytest.raises(ValueError, match="frozen"):
        plugin.params.min_stay_s = 5
