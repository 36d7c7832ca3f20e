"""`kiwoom-bot status/orders/fills/positions/pnl/conditions` against a real journal and the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from bot.cli import main
from bot.clock import kst
from bot.domain.orders import IntentRecord, IntentState, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState
from bot.instance import instance_lock
from bot.operator import display_width, table
from bot.store import Fill, FillSource, Store


def _intent(
    iid: str,
    strategy: str,
    code: str,
    side: Side,
    qty: int,
    price: int,
    when: tuple[int, ...],
    state: IntentState,
) -> IntentRecord:
    order_no = f"0000{100 + int(iid[1:])}" if state is not IntentState.REJECTED else ""
    if state is IntentState.UNKNOWN:
        order_no = ""
    command = SubmitOrder(strategy, code, side, qty, OrderType.LIMIT, price, reason="test")
    return IntentRecord(iid, command, state, kst(*when), order_no=order_no)


async def _build(path: Path) -> None:
    async with Store.open(path) as store:
        day, before = (2026, 11, 20), (2026, 11, 19)
        await store.insert_intent(
            _intent("a0", "gap", "000660", Side.BUY, 3, 181_000, (*before, 14, 0), IntentState.ACCEPTED)
        )
        await store.insert_intent(
            _intent("a1", "surge", "005930", Side.BUY, 10, 70_000, (*day, 9, 0, 5), IntentState.ACCEPTED)
        )
        buy = Fill(
            "a1", "0000101", "1", "005930", Side.BUY, 10, 70_000, 105, 0, kst(*day, 9, 0, 6), FillSource.WS
        )
        await store.apply_fill(buy, new_state=IntentState.FILLED)
        await store.insert_intent(
            _intent("a2", "surge", "005930", Side.SELL, 4, 71_000, (*day, 9, 30), IntentState.ACCEPTED)
        )
        sell = Fill(
            "a2", "0000102", "2", "005930", Side.SELL, 4, 71_000, 43, 568, kst(*day, 9, 30, 1), FillSource.WS
        )
        await store.apply_fill(sell, new_state=IntentState.FILLED)
        await store.insert_intent(
            _intent("a3", "gap", "000660", Side.BUY, 5, 180_000, (*day, 9, 40), IntentState.ACCEPTED)
        )
        await store.insert_intent(
            _intent("a4", "gap", "035720", Side.BUY, 1, 40_000, (*day, 9, 41), IntentState.REJECTED)
        )
        await store.insert_intent(
            _intent("a5", "surge", "035720", Side.BUY, 2, 40_000, (*day, 9, 42), IntentState.UNKNOWN)
        )
        await store.append_journal(
            "condition_hit", {"seq": "0", "name": "삼성전자"}, time=kst(*day, 9, 0), code="005930"
        )
        await store.set_trading_state(
            TradingState.HALTED, "killed by the operator", "cli:test", time=kst(*day, 10, 0)
        )


def _config(tmp_path: Path, journal: Path, mode: str = "simulator") -> Path:
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[broker]\nmode = "{mode}"\nstate_dir = "{tmp_path / "state"}"\n'
        '[simulator]\ntrading_day = "2026-11-20"\n'
        f'[store]\npath = "{journal}"\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A simulator-mode config (today = 2026-11-20) naming a journal with a day of orders and fills."""
    journal = tmp_path / "journal.sqlite3"
    anyio.run(_build, journal)
    return _config(tmp_path, journal)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def test_status_summarises_state_orders_positions_and_pnl(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """status shows the persisted kill switch, today's orders by outcome, open positions and realized P&L."""
    code, lines = _run(capsys, "status", "--config", str(config))
    assert code == 0
    assert lines[:4] == [
        "trading state   HALTED: killed by the operator (since 2026-11-20 10:00:00 KST, by cli:test)",
        "orders today    1 working, 2 filled, 1 rejected, 1 unknown, 0 canceled (5 in all, 2026-11-20)",
        "open positions  1",
        "realized P&L    3,284원 (2026-11-20)",
    ]
    code, lines = _run(capsys, "status", "--config", str(config), "--json")
    data = json.loads("\n".join(lines))
    assert data["trading_state"]["state"] == "HALTED"
    assert data["trading_state"]["changed_at"] == "2026-11-20T10:00:00+09:00"
    assert data["orders"] == {
        "working": 1,
        "filled": 2,
        "rejected": 1,
        "unknown": 1,
        "canceled": 0,
        "total": 5,
    }
    assert data["open_positions"] == 1 and data["realized_pnl"] == 3284


def test_orders_today_and_open(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """orders lists today's orders aligned, names from the journal; --open lists working ones of any day."""
    code, lines = _run(capsys, "orders", "--config", str(config))
    assert code == 0
    assert lines == [
        "TIME      STRATEGY  STOCK             SIDE  QTY      PRICE  FILLED  AVG FILL  STATE     ORDER NO",
        "09:00:05  surge     삼성전자(005930)  매수   10   70,000원      10  70,000원  filled    0000101",
        "09:30:00  surge     삼성전자(005930)  매도    4   71,000원       4  71,000원  filled    0000102",
        "09:40:00  gap       000660            매수    5  180,000원       0         -  accepted  0000103",
        "09:41:00  gap       035720            매수    1   40,000원       0         -  rejected  -",
        "09:42:00  surge     035720            매수    2   40,000원       0         -  unknown   -",
    ]
    assert _run(capsys, "orders", "--today", "--config", str(config))[1] == lines
    code, lines = _run(capsys, "orders", "--open", "--config", str(config))
    assert [line.split("  ")[0] for line in lines[1:]] == [
        "2026-11-19 14:00:00",
        "2026-11-20 09:40:00",
        "2026-11-20 09:42:00",
    ]
    code, lines = _run(capsys, "orders", "--open", "--json", "--config", str(config))
    orders = json.loads("\n".join(lines))["orders"]
    assert [(o["intent_id"], o["state"], o["price"]) for o in orders] == [
        ("a0", "accepted", 181_000),
        ("a3", "accepted", 180_000),
        ("a5", "unknown", 40_000),
    ]


def test_fills_positions_and_pnl_tables(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """fills, positions and pnl print the journal's exact amounts, in 원 with separators."""
    assert _run(capsys, "fills", "--config", str(config))[1] == [
        "TIME      STRATEGY  STOCK             SIDE  QTY     PRICE     AMOUNT  "
        "  FEE    TAX  REALIZED  ORDER/FILL",
        "09:00:06  surge     삼성전자(005930)  매수   10  70,000원  700,000원  "
        "105원    0원    -105원  0000101/1",
        "09:30:01  surge     삼성전자(005930)  매도    4  71,000원  284,000원  "
        " 43원  568원   3,389원  0000102/2",
    ]
    assert _run(capsys, "positions", "--config", str(config))[1] == [
        "STRATEGY  STOCK             QTY  AVG PRICE       COST  REALIZED  UPDATED (KST)",
        "surge     삼성전자(005930)    6   70,000원  420,000원   3,284원  2026-11-20 09:30:01",
    ]
    assert _run(capsys, "pnl", "--config", str(config))[1] == [
        "realized P&L on 2026-11-20",
        "STRATEGY  REALIZED   FEES  TAXES       BUYS      SELLS  FILLS",
        "surge      3,284원  148원  568원  700,000원  284,000원      2",
    ]
    pnl = json.loads("\n".join(_run(capsys, "pnl", "--json", "--config", str(config))[1]))
    assert pnl["strategies"] == [
        {
            "strategy": "surge",
            "realized_pnl": 3284,
            "fees": 148,
            "taxes": 568,
            "buy_amount": 700_000,
            "sell_amount": 284_000,
            "fills": 2,
        }
    ]
    fills = json.loads("\n".join(_run(capsys, "fills", "--json", "--config", str(config))[1]))["fills"]
    assert [(f["name"], f["amount"], f["realized_pnl"], f["time"]) for f in fills] == [
        ("삼성전자", 700_000, -105, "2026-11-20T09:00:06+09:00"),
        ("삼성전자", 284_000, 3389, "2026-11-20T09:30:01+09:00"),
    ]


def test_empty_results_print_a_clear_line(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A day without fills prints one sentence, not an empty table."""
    assert _run(capsys, "fills", "--date", "2026-11-19", "--config", str(config))[1] == [
        "no fills on 2026-11-19"
    ]
    assert _run(capsys, "pnl", "--date", "2026-11-19", "--config", str(config))[1] == [
        "no fills on 2026-11-19: no realized P&L"
    ]


def test_empty_journal_says_no_open_orders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh journal: no open orders, no open positions, ACTIVE and never changed."""

    async def create(path: Path) -> None:
        async with Store.open(path):
            pass

    journal = tmp_path / "fresh.sqlite3"
    anyio.run(create, journal)
    config = _config(tmp_path, journal)
    assert _run(capsys, "orders", "--open", "--config", str(config))[1] == ["no open orders"]
    assert _run(capsys, "orders", "--config", str(config))[1] == ["no orders on 2026-11-20"]
    assert _run(capsys, "positions", "--config", str(config))[1] == ["no open positions"]
    assert (
        _run(capsys, "status", "--config", str(config))[1][0]
        == "trading state   ACTIVE: new journal (never changed)"
    )


def test_missing_journal_exits_75_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config naming a journal that does not exist: exit 75 naming the path; no file appears."""
    journal = tmp_path / "absent" / "journal.sqlite3"
    config = _config(tmp_path, journal)
    for command in ("status", "orders", "fills", "positions", "pnl"):
        assert main([command, "--config", str(config)]) == 75
        assert f"no journal at {journal}" in capsys.readouterr().err
    assert not journal.parent.exists()


def test_bad_config_exits_78(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in the config: exit 78 naming the key."""
    config = tmp_path / "bot.toml"
    config.write_text("[store]\npth = 'x'\n", encoding="utf-8")
    assert main(["status", "--config", str(config)]) == 78
    assert "store.pth" in capsys.readouterr().err


def test_status_in_a_subprocess_reads_a_journal(config: Path) -> None:
    """`python -m bot status --json` in its own process prints one JSON document and exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "status", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trading_state"]["reason"] == "killed by the operator"


def test_conditions_lists_the_simulators_saved_searches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In simulator mode, conditions logs in over the WebSocket and prints each seq and name."""
    config = _config(tmp_path, tmp_path / "journal.sqlite3")
    code, lines = _run(capsys, "conditions", "--config", str(config))
    assert code == 0
    assert lines == ["SEQ  NAME", "  0  거래량급증", "  1  신고가돌파", "  2  상승률상위", "  3  하락률상위"]
    code, lines = _run(capsys, "conditions", "--json", "--config", str(config))
    assert json.loads("\n".join(lines))["conditions"][0] == {"seq": "0", "name": "거래량급증"}
    assert not (tmp_path / "journal.sqlite3").exists()


def test_conditions_refuses_while_the_daemon_holds_the_state_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In paper mode a running daemon's lock makes conditions exit 75 (a second login would kick it)."""
    monkeypatch.setenv("KIWOOM_APPKEY", "A" * 40)
    monkeypatch.setenv("KIWOOM_SECRETKEY", "S" * 40)
    config = _config(tmp_path, tmp_path / "journal.sqlite3", mode="paper")
    with instance_lock(tmp_path / "state"):
        assert main(["conditions", "--config", str(config)]) == 75
    err = capsys.readouterr().err
    assert "already running with state directory" in err and "A" * 10 not in err


def test_table_aligns_wide_hangul() -> None:
    """Hangul counts two columns, so names line up in a terminal."""
    assert display_width("삼성전자(005930)") == 16
    assert table(("A", "B"), [("가나", "1"), ("abc", "22")], frozenset({1})) == [
        "A      B",
        "가나   1",
        "abc   22",
    ]


@pytest.mark.anyio
async def test_status_reads_while_the_daemon_holds_the_journal(config: Path) -> None:
    """With the daemon's Store open, kill then status see the new state at once (WAL reader, no lock)."""
    journal = config.parent / "journal.sqlite3"
    async with Store.open(journal) as store:
        await store.append_journal("store", {"note": "daemon running"}, time=kst(2026, 11, 20, 10, 5))
        assert await anyio.to_thread.run_sync(main, ["resume", "--config", str(config)]) == 0
        done = await anyio.to_thread.run_sync(
            lambda: subprocess.run(
                [sys.executable, "-m", "bot", "status", "--json", "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=60,
            )
        )
        assert done.returncode == 0, done.stderr
        state = json.loads(done.stdout)["trading_state"]
        assert (state["state"], state["reason"]) == ("ACTIVE", "resumed by the operator")
        assert (await store.read_trading_state()).version == state["version"]
