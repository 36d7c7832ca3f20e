"""`kiwoom-bot check-config FILE`: one OK line, or exit 78 with one line per problem, nothing started."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot.cli import EXIT_CONFIG, EXIT_OK, main

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
APPKEY = "AppKeyValue0123456789abcdefXYZ"
SECRETKEY = "SecretKeyValue0123456789abcdefghijXYZ"
MISSING_APPKEY = (
    "broker.appkey_env: the app key is missing: set the environment variable KIWOOM_APPKEY "
    "(or appkey_file in [broker] to a file holding it, e.g. a systemd credential)"
)
MISSING_SECRETKEY = (
    "broker.secretkey_env: the secret key is missing: set the environment variable KIWOOM_SECRETKEY "
    "(or secretkey_file in [broker] to a file holding it, e.g. a systemd credential)"
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No keys in the environment unless a test sets them; structlog back to its defaults afterwards."""
    for var in ("KIWOOM_APPKEY", "KIWOOM_SECRETKEY", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(var, raising=False)
    yield
    structlog.reset_defaults()


def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIWOOM_APPKEY", APPKEY)
    monkeypatch.setenv("KIWOOM_SECRETKEY", SECRETKEY)


def _write(tmp_path: Path, text: str, name: str = "bot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    """Run the command in-process: (exit code, stdout lines, stderr lines)."""
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_shipped_example_passes_with_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example (paper mode) is OK once the keys are set; the summary names the strategies."""
    _keys(monkeypatch)
    code, out, err = _check(CONFIG_DIR / "bot.example.toml", capsys)
    assert (code, err) == (EXIT_OK, [])
    assert out == [
        f"OK {CONFIG_DIR / 'bot.example.toml'}: mode=paper, 3 strategies: volume-surge (condition_entry), "
        "orb (opening_range_breakout), morning-basket (scheduled_rebalance)"
    ]


def test_shipped_demo_passes_without_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """Simulator mode needs no keys: the demo file is OK with an empty environment."""
    code, out, err = _check(CONFIG_DIR / "demo.toml", capsys)
    assert (code, err) == (EXIT_OK, [])
    assert out == [
        f"OK {CONFIG_DIR / 'demo.toml'}: mode=simulator, 3 strategies: volume-surge (condition_entry), "
        "orb (opening_range_breakout), basket (scheduled_rebalance)"
    ]


def test_typo_is_named_with_file_key_and_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt key is one stderr line naming file, key and value; stdout says how many problems."""
    path = _write(tmp_path, "[risk]\nmax_order_kwr = 1_000_000\n")
    code, out, err = _check(path, capsys)
    assert code == EXIT_CONFIG == 78
    assert err == [f"{path}: risk.max_order_kwr: unknown key (typo?) (given: 1000000)"]
    assert out == [f"FAILED {path}: 1 problem (see stderr)"]


def test_wrong_type_names_the_expectation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A string where seconds are expected says a number was expected and shows the value."""
    path = _write(tmp_path, '[broker]\nrequest_timeout_s = "fast"\n')
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: broker.request_timeout_s: Input should be a valid number, unable to parse string as a "
        "number (given: 'fast')"
    ]


def test_bad_strategy_param_is_checked_by_the_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A param the plugin's Params model refuses is named as strategy[i].params.<key>."""
    path = _write(
        tmp_path,
        '[[strategy]]\nname = "orb"\nplugin = "opening_range_breakout"\nbudget_krw = 2_000_000\n'
        '[strategy.params]\nsymbols = ["005930"]\nrange_minutes = 0\n',
    )
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: strategy[0].params.range_minutes: Input should be greater than or equal to 1 (given: 0)"
    ]


def test_unknown_plugin_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plugin name that matches nothing says where it was looked for."""
    path = _write(tmp_path, '[[strategy]]\nname = "x"\nplugin = "conditon_entry"\nbudget_krw = 2_000_000\n')
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: strategy[0].plugin: no strategy plugin named 'conditon_entry' (looked in strategies/ and "
        "'kiwoom_bot.strategies') (given: 'conditon_entry')"
    ]


def test_missing_secrets_are_both_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Paper mode without keys names both environment variables, one line each."""
    path = _write(tmp_path, '[broker]\nmode = "paper"\n')
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [f"{path}: {MISSING_APPKEY}", f"{path}: {MISSING_SECRETKEY}"]


def test_live_without_confirmation_is_refused_and_keys_still_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Live mode without confirm_live is a problem, and the missing keys are reported in the same run."""
    path = _write(tmp_path, '[broker]\nmode = "live"\n')
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: broker.confirm_live: mode = 'live' sends real orders to your account: add "
        "`confirm_live = true` to [broker] to confirm",
        f"{path}: {MISSING_APPKEY}",
        f"{path}: {MISSING_SECRETKEY}",
    ]


def test_broken_holiday_file_is_named_through_the_calendar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An impossible date in the holiday override names both files, the key and the line."""
    holidays = _write(tmp_path, '[[closed]]\ndate = 2026-02-30\nreason = "x"\n', "holidays.toml")
    path = _write(tmp_path, f'[market]\nholiday_file = "{holidays}"\n')
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: market.holiday_file: {holidays}: Invalid date or datetime (at line 2, column 8): "
        "`date = 2026-02-30` (a date is written YYYY-MM-DD and must exist)"
    ]


def test_holiday_closure_on_a_weekend_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A closure on a Saturday is refused by the calendar; a missing override file is named too."""
    holidays = _write(tmp_path, '[[closed]]\ndate = 2026-11-21\nreason = "x"\n', "holidays.toml")
    path = _write(tmp_path, f'[market]\nholiday_file = "{holidays}"\n')
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: market.holiday_file: {holidays}: closed[0].date: expected a weekday (weekends are always "
        "closed), got '2026-11-21 (Saturday)'"
    ]
    missing = _write(tmp_path, f'[market]\nholiday_file = "{tmp_path / "nope.toml"}"\n', "b.toml")
    code, _, err = _check(missing, capsys)
    assert code == 78 and len(err) == 1
    assert err[0].startswith(f"{missing}: market.holiday_file: {tmp_path / 'nope.toml'}: cannot read")


def test_every_problem_is_collected_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Config errors, then each strategy's params, then credentials: all of them, in that order."""
    path = _write(
        tmp_path,
        '[broker]\nmode = "dry-run"\n'
        "[risk]\nmax_open_positions = 0\n"
        '[[strategy]]\nname = "a"\nplugin = "condition_entry"\nbudget_krw = 1_000_000\n'
        "[strategy.params]\ntake_profit_pct = 3.001\n"
        '[[strategy]]\nname = "b"\nplugin = "scheduled_rebalance"\nbudget_krw = 1_000_000\n'
        '[strategy.params]\nsymbols = ["005930"]\nkrw_per_symbol = 500_000\n'
        'buy_at = "15:00"\nsell_at = "09:00"\n',
    )
    code, out, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: risk.max_open_positions: Input should be greater than 0 (given: 0)",
        f"{path}: strategy[0].params.take_profit_pct: a percentage may have at most 2 decimals (whole basis "
        "points), got 3.001 (given: 3.001)",
        f"{path}: strategy[1].params.sell_at: must be later than buy_at (15:00:00), got 09:00:00 "
        "(given: '09:00')",
        f"{path}: {MISSING_APPKEY}",
        f"{path}: {MISSING_SECRETKEY}",
    ]
    assert out == [f"FAILED {path}: 5 problems (see stderr)"]


def test_duplicate_names_and_paper_venue_are_cross_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two strategies with one name, and NXT routing on the KRX-only paper host, are refused."""
    _keys(monkeypatch)
    table = '[[strategy]]\nname = "a"\nplugin = "condition_entry"\nbudget_krw = 1_000_000\n'
    path = _write(tmp_path, f'[broker]\nmode = "paper"\nvenue = "NXT"\n{table}{table}')
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: broker.venue: expected 'KRX' in paper mode (Kiwoom's paper server trades KRX only) "
        "(given: 'NXT')",
        f"{path}: strategy: strategy names must be unique, repeated: a",
    ]


def test_secrets_are_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key pasted into the file, a key as an env-var name, or a loose key file: no secret in any output."""
    _keys(monkeypatch)
    key_file = tmp_path / "secret"
    key_file.write_text(SECRETKEY + "\n", encoding="utf-8")
    key_file.chmod(0o644)
    path = _write(
        tmp_path,
        f'[broker]\nmode = "live"\nconfirm_live = true\nappkey = "{APPKEY}"\nsecretkey_env = "{SECRETKEY}"\n'
        f'rest_url = "https://user:{SECRETKEY}@api.kiwoom.com"\n',
    )
    code, out, err = _check(path, capsys)
    assert code == 78
    text = "\n".join(out + err)
    assert APPKEY not in text and SECRETKEY not in text and SECRETKEY[:12] not in text
    assert (
        f"{path}: broker.appkey: unknown key (typo?) "
        "(given: a value not shown here because it may be a secret)" in err
    )
    loose = _write(tmp_path, f'[broker]\nmode = "paper"\nsecretkey_file = "{key_file}"\n', "loose.toml")
    code, out, err = _check(loose, capsys)
    assert code == 78
    assert err == [
        f"{loose}: broker.secretkey_file: {key_file} is readable by every user (mode 0644); "
        f"expected a private file: chmod 600 {key_file}"
    ]
    assert SECRETKEY not in "\n".join(out + err)


def test_systemd_credentials_directory_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`${CREDENTIALS_DIRECTORY}/name` reads systemd credentials; unset outside systemd, it is named."""
    creds = tmp_path / "creds"
    creds.mkdir()
    for name, value in (("kiwoom-appkey", APPKEY), ("kiwoom-secretkey", SECRETKEY)):
        (creds / name).write_text(value, encoding="utf-8")
        (creds / name).chmod(0o400)
    path = _write(
        tmp_path,
        '[broker]\nmode = "paper"\nappkey_file = "${CREDENTIALS_DIRECTORY}/kiwoom-appkey"\n'
        'secretkey_file = "$CREDENTIALS_DIRECTORY/kiwoom-secretkey"\n',
    )
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: broker.appkey_file: $CREDENTIALS_DIRECTORY is not set (systemd sets it for a unit with "
        "LoadCredential=; outside systemd give a plain path) "
        "(given: '${CREDENTIALS_DIRECTORY}/kiwoom-appkey')",
        f"{path}: broker.secretkey_file: $CREDENTIALS_DIRECTORY is not set (systemd sets it for a unit with "
        "LoadCredential=; outside systemd give a plain path) "
        "(given: '$CREDENTIALS_DIRECTORY/kiwoom-secretkey')",
    ]
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    code, out, err = _check(path, capsys)
    assert (code, err) == (0, [])
    assert out == [f"OK {path}: mode=paper, 0 strategies: none"]


def test_empty_key_file_and_identical_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty key file and the same value for both keys are refused without showing the value."""
    empty = tmp_path / "appkey"
    empty.write_text("\n", encoding="utf-8")
    empty.chmod(0o600)
    monkeypatch.setenv("KIWOOM_SECRETKEY", SECRETKEY)
    path = _write(tmp_path, f'[broker]\nmode = "dry-run"\nappkey_file = "{empty}"\n')
    code, _, err = _check(path, capsys)
    assert (code, err) == (
        78,
        [f"{path}: broker.appkey_file: {empty} is empty (expected a file holding the app key)"],
    )
    monkeypatch.setenv("KIWOOM_APPKEY", SECRETKEY)
    same = _write(tmp_path, '[broker]\nmode = "dry-run"\n', "same.toml")
    code, out, err = _check(same, capsys)
    assert code == 78
    assert err == [
        f"{same}: broker: the app key and the secret key are identical (expected two different values; check "
        "which one went where)"
    ]
    assert SECRETKEY not in "\n".join(out + err)


def test_url_and_trading_day_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plain-ws remote URL and a simulator day the calendar closes are refused; loopback http is fine."""
    path = _write(
        tmp_path,
        '[broker]\nws_url = "ws://api.kiwoom.com:10000/api/dostk/websocket"\n'
        '[simulator]\ntrading_day = "2026-12-25"\n',
    )
    code, _, err = _check(path, capsys)
    assert code == 78
    assert err == [
        f"{path}: broker.ws_url: expected wss:// for a remote host (plain ws:// would send keys and tokens "
        "unencrypted; it is accepted only for 127.0.0.1, ::1 or localhost) "
        "(given: 'ws://api.kiwoom.com:10000/api/dostk/websocket')",
        f"{path}: simulator.trading_day: expected a KRX trading day, the calendar says closed "
        "(Christmas (성탄절)) (given: '2026-12-25')",
    ]
    ok_url = _write(
        tmp_path,
        '[broker]\nrest_url = "http://127.0.0.1:8080"\n[simulator]\ntrading_day = 2026-12-25\n',
        "b.toml",
    )
    code, _, err = _check(ok_url, capsys)
    assert code == 78
    assert err == [
        f"{ok_url}: simulator.trading_day: expected a KRX trading day, the calendar says closed "
        "(Christmas (성탄절)) (given: '2026-12-25')"
    ]


def test_missing_file_and_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file and a TOML syntax error are one line each, exit 78."""
    code, _, err = _check(tmp_path / "absent.toml", capsys)
    assert (code, err) == (78, [f"{tmp_path / 'absent.toml'}: file not found"])
    path = _write(tmp_path, "[broker\nmode = 1\n")
    code, _, err = _check(path, capsys)
    assert code == 78 and len(err) == 1
    assert err[0].startswith(f"{path}: TOML syntax error: ") and "line 1" in err[0]


_GUARD = """
import sys

def audit(event, args):
    if event.startswith("socket.") or event == "subprocess.Popen":
        raise RuntimeError(f"check-config must not open sockets or processes: {event}")

sys.addaudithook(audit)
from bot.cli import main
code = main(["check-config", sys.argv[1]])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "websockets", "uvicorn", "aiosqlite")
                or m.startswith(("bot.sim", "bot.broker", "bot.store", "bot.app")))
print("loaded:", loaded)
raise SystemExit(code)
"""


def test_nothing_is_started_or_connected(tmp_path: Path) -> None:
    """As a real process: no socket is created; no simulator, broker, store or network module is imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env |= {"KIWOOM_APPKEY": APPKEY, "KIWOOM_SECRETKEY": SECRETKEY}
    for config in (CONFIG_DIR / "bot.example.toml", CONFIG_DIR / "demo.toml"):
        done = subprocess.run(
            [sys.executable, "-c", _GUARD, str(config)], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith(f"OK {config}: ")
        assert lines[1] == "loaded: []"


def test_module_entry_point_exit_code(tmp_path: Path) -> None:
    """`python -m bot check-config` exits 78 on a bad file, problems on stderr, the verdict on stdout."""
    path = _write(tmp_path, "[store]\npth = 'x.sqlite3'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 78
    assert done.stderr.splitlines() == [f"{path}: store.pth: unknown key (typo?) (given: 'x.sqlite3')"]
    assert done.stdout.splitlines() == [f"FAILED {path}: 1 problem (see stderr)"]
