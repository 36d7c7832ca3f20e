"""Building the report from a journal, and comparing it with the broker's view (pure parts included)."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import NoReturn

import anyio
import pytest

from bot.clock import kst
from bot.domain.snapshots import Deposit, FillRecord, Holding
from bot.domain.values import Side, Venue
from bot.errors import BrokerUnreachable
from bot.report.build import build_report
from bot.report.compare import fill_differences, holding_differences
from bot.report.model import Comparison, Difference, from_json, to_json
from bot.store import StoreReader
from tests.report.support import GAP_REALIZED, SURGE_REALIZED, build_day

pytestmark = pytest.mark.anyio

DAY = date(2026, 11, 20)
NOW = kst(2026, 11, 20, 15, 45)
DEPOSIT = Deposit(
    cash=50_000_000, d1_cash=49_000_000, d2_cash=48_000_000, orderable=47_000_000, withdrawable=1
)


def _fill(
    order_no: str, code: str, side: Side, qty: int, price: int, fee: int = 0, tax: int = 0
) -> FillRecord:
    return FillRecord(
        order_no,
        "0000000",
        code,
        "",
        side,
        qty,
        price,
        qty,
        price,
        0,
        fee,
        tax,
        "체결",
        "보통",
        time(9),
        Venue.KRX,
    )


def _holding(code: str, name: str, qty: int, avg: int, price: int) -> Holding:
    return Holding(code, name, qty, qty, avg, price, qty * avg, qty * price, qty * (price - avg), 0)


class Broker:
    """The broker's view of the day in `build_day`, as the Broker port returns it (optionally altered)."""

    sends_orders = True

    def __init__(self, holdings: list[Holding], fills: list[FillRecord]) -> None:
        self._holdings, self._fills = holdings, fills

    async def holdings(self) -> list[Holding]:
        return self._holdings

    async def fills(self) -> list[FillRecord]:
        return self._fills

    async def deposit(self) -> Deposit:
        return DEPOSIT


def _matching_broker() -> Broker:
    return Broker(
        [
            _holding("005930", "삼성전자", 6, 70_000, 70_500),
            _holding("000660", "SK하이닉스", 5, 180_000, 179_000),
        ],
        [
            _fill("0000101", "005930", Side.BUY, 10, 70_000, fee=105),
            _fill("0000102", "005930", Side.SELL, 4, 71_000, fee=42, tax=568),
            _fill("0000103", "000660", Side.BUY, 5, 180_000, fee=135),
        ],
    )


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    """A journal holding the known day of `tests.report.support`."""
    path = tmp_path / "journal.sqlite3"
    anyio.run(build_day, path)
    return path


async def test_figures_are_the_journals_and_a_matching_broker_shows_no_difference(journal: Path) -> None:
    """Trades, realized P&L, positions at the broker's prices, denials, reconnects, orders; no difference."""
    async with StoreReader.open(journal) as reader:
        report = await build_report(
            reader, DAY, time=NOW, source="daemon", broker=_matching_broker(), notify_drops=2
        )
        pnl = {p.strategy: p for p in await reader.daily_pnl(start=DAY, end=DAY)}
    gap, surge = report.strategies
    assert (surge.buys, surge.buy_qty, surge.buy_amount) == (2, 10, 700_000)
    assert (surge.sells, surge.sell_qty, surge.sell_amount) == (1, 4, 284_000)
    assert (surge.fees, surge.taxes, surge.realized_pnl) == (147, 568, SURGE_REALIZED) == (147, 568, 3_285)
    assert (gap.buys, gap.buy_amount, gap.sells, gap.realized_pnl) == (1, 900_000, 0, GAP_REALIZED)
    for t in report.strategies:
        assert (t.realized_pnl, t.fees, t.taxes) == (
            pnl[t.strategy].realized_pnl,
            pnl[t.strategy].fees,
            pnl[t.strategy].taxes,
        )
    assert report.realized_pnl == report.total.realized_pnl == 3_150
    assert [
        (p.strategy, p.code, p.name, p.qty, p.avg_price, p.last_price, p.unrealized_pnl)
        for p in report.positions
    ] == [
        ("gap", "000660", "SK하이닉스", 5, 180_000, 179_000, -5_000),
        ("surge", "005930", "삼성전자", 6, 70_000, 70_500, 3_000),
    ]
    b = report.broker
    assert (b.status, b.differences, b.holdings_compared, b.orders_compared) == (
        Comparison.COMPARED,
        (),
        2,
        3,
    )
    assert (b.broker_fees, b.broker_taxes, b.deposit) == (282, 568, DEPOSIT)
    assert report.denials == (("max_positions", 2), ("budget", 1))
    assert report.reconnects == 1 and report.notify_drops == 2
    assert dict(report.orders) == {
        "working": 0,
        "filled": 3,
        "rejected": 1,
        "unknown": 0,
        "canceled": 0,
        "total": 4,
    }
    assert from_json(to_json(report)) == report


async def test_every_difference_is_listed(journal: Path) -> None:
    """An extra holding, a short holding, an order the journal missed and a mispriced order are all listed."""
    broker = Broker(
        [_holding("005930", "삼성전자", 7, 70_000, 70_500), _holding("035720", "카카오", 3, 40_000, 40_000)],
        [
            _fill("0000101", "005930", Side.BUY, 10, 70_100),  # 1,000 won more than the journal booked
            _fill("0000102", "005930", Side.SELL, 4, 71_000),
            _fill("0000999", "035720", Side.BUY, 3, 40_000),  # placed outside the bot, never journaled
        ],
    )
    async with StoreReader.open(journal) as reader:
        report = await build_report(reader, DAY, time=NOW, source="daemon", broker=broker)
    assert [d.text() for d in report.broker.differences] == [
        "holding 000660: journal 5, broker 0",
        "holding 005930: journal 6, broker 7",
        "holding 035720: journal 0, broker 3",
        "fill_amount 005930 order 0000101: journal 700,000, broker 701,000",
        "fill_qty 000660 order 0000103: journal 5, broker 0",
        "fill_qty 035720 order 0000999: journal 0, broker 3",
    ]


def test_an_average_price_rounded_to_the_won_is_not_a_difference() -> None:
    """Fills of 3 shares at 100 and 101 average 100.67: the broker's 100 (or 101) agrees within 3 won."""
    from bot.store import FillRow, FillSource

    rows = [
        FillRow(DAY, "0000001", str(i), "i", "s", "005930", Side.BUY, 1, p, 0, 0, 0, NOW, FillSource.WS)
        for i, p in enumerate((100, 101, 101))
    ]
    assert fill_differences(rows, [_fill("0000001", "005930", Side.BUY, 3, 100)]) == ([], 1)
    assert fill_differences(rows, [_fill("0000001", "005930", Side.BUY, 3, 101)]) == ([], 1)
    diffs, _ = fill_differences(rows, [_fill("0000001", "005930", Side.BUY, 3, 99)])
    assert diffs == [Difference("fill_amount", "005930", "0000001", 302, 297)]
    assert holding_differences({"005930": 3}, [_holding("005930", "", 3, 1, 1)]) == []


class _Down:
    """A broker whose every account query fails the way an unreachable Kiwoom does."""

    sends_orders = True

    async def holdings(self) -> NoReturn:
        raise BrokerUnreachable("connection refused")


class _Hung:
    """A broker that never answers."""

    sends_orders = True

    async def holdings(self) -> NoReturn:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


async def test_a_broker_failure_makes_the_comparison_unavailable_not_the_report(journal: Path) -> None:
    """An error or a hang at the broker still gives the journal's report, marked unavailable (with why)."""
    async with StoreReader.open(journal) as reader:
        down = await build_report(reader, DAY, time=NOW, source="daemon", broker=_Down())  # type: ignore[arg-type]
        hung = await build_report(
            reader,
            DAY,
            time=NOW,
            source="daemon",
            broker=_Hung(),
            broker_timeout_s=0.05,  # type: ignore[arg-type]
        )
    assert down.broker.summary() == "broker comparison unavailable: BrokerUnreachable: connection refused"
    assert hung.broker.summary() == "broker comparison unavailable: no answer within 0.05 s"
    assert down.realized_pnl == hung.realized_pnl == 3_150
    assert [p.last_price for p in down.positions] == [None, None]


async def test_without_a_broker_the_report_is_marked_not_compared(journal: Path) -> None:
    """The CLI's journal-only report says why it was not compared and lists no differences."""
    async with StoreReader.open(journal) as reader:
        report = await build_report(
            reader, DAY, time=NOW, source="journal", not_compared="daemon not running"
        )
        other_day = await build_report(reader, date(2026, 11, 19), time=NOW, source="journal")
    assert report.broker.summary() == "not compared: daemon not running"
    assert report.notify_drops is None and report.realized_pnl == 3_150
    assert other_day.strategies == () and other_day.denials == (("budget", 1),) and other_day.reconnects == 0
