"""Config loading: typos, wrong types, missing secrets and unconfirmed live mode are named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import BotConfig, Credentials, load_config, load_credentials
from bot.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_valid(tmp_path: Path) -> None:
    """An empty file is a valid simulator-mode config."""
    cfg = load_config(_write(tmp_path, ""))
    assert cfg == BotConfig()
    assert cfg.broker.mode == "simulator"


def test_typo_names_file_key_and_value(tmp_path: Path) -> None:
    """An unknown key is reported with the file, the dotted key path and the value given."""
    path = _write(tmp_path, "[risk]\nmax_order_kwr = 100\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: risk.max_order_kwr: unknown key (typo?) (given: 100)"


def test_wrong_type_names_expectation(tmp_path: Path) -> None:
    """A value of the wrong type says what was expected."""
    path = _write(tmp_path, '[risk]\nmax_daily_loss_krw = "lots"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}: risk.max_daily_loss_krw: ")
    assert "integer" in text and "'lots'" in text


def test_strategy_table_errors_point_into_the_array(tmp_path: Path) -> None:
    """A bad field inside the second [[strategy]] names its index."""
    path = _write(
        tmp_path,
        '[[strategy]]\nname = "a"\nplugin = "x"\nbudget_krw = 1\n'
        '[[strategy]]\nname = "b"\nplugin = "x"\nbudget_krw = -5\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "strategy[1].budget_krw" in str(info.value)


def test_live_mode_requires_confirmation(tmp_path: Path) -> None:
    """Live mode without confirm_live is refused before anything starts."""
    path = _write(tmp_path, '[broker]\nmode = "live"\n')
    with pytest.raises(ConfigError, match="confirm_live = true"):
        load_config(path)
    ok = _write(tmp_path, '[broker]\nmode = "live"\nconfirm_live = true\n')
    assert load_config(ok).broker.mode == "live"


def test_syntax_error_names_file(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the position."""
    path = _write(tmp_path, "[broker\nmode = 1\n")
    with pytest.raises(ConfigError, match=r"bot\.toml: TOML syntax error.*line 1"):
        load_config(path)


def test_missing_secret_names_the_variable() -> None:
    """A missing app key names the environment variable to set; the secret itself never shows."""
    cfg = BotConfig().broker
    with pytest.raises(ConfigError, match="KIWOOM_APPKEY"):
        load_credentials(cfg, env={"KIWOOM_SECRETKEY": "s" * 40}, source="bot.toml")
    creds = load_credentials(cfg, env={"KIWOOM_APPKEY": "A" * 40, "KIWOOM_SECRETKEY": "S" * 40})
    assert isinstance(creds, Credentials)
    assert "S" * 10 not in repr(creds) and "A" * 10 not in repr(creds)
