"""A journal with one known trading day, shared by the report tests (figures worked out by hand below)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.clock import kst
from bot.domain.orders import IntentRecord, IntentState, SubmitOrder
from bot.domain.snapshots import Deposit
from bot.domain.values import OrderType, Side
from bot.report.model import BrokerCheck, Comparison, EndOfDayReport, OpenPosition, StrategyTrades
from bot.store import Fill, FillSource, Store

DAY = (2026, 11, 20)


def _intent(
    iid: str, strategy: str, code: str, side: Side, qty: int, price: int, minute: int
) -> IntentRecord:
    command = SubmitOrder(strategy, code, side, qty, OrderType.LIMIT, price, reason="test")
    return IntentRecord(
        iid, command, IntentState.ACCEPTED, kst(*DAY, 9, minute), order_no=f"00001{iid[1:]:0>2}"
    )


async def build_day(path: Path) -> None:
    """surge: buys 10 삼성전자 @70,000 (fee 105) in two fills, sells 4 @71,000 (fee 42, tax 568);
    gap: buys 5 SK하이닉스 @180,000 (fee 135); one order rejected; denials and one reconnect."""
    async with Store.open(path) as store:
        await store.insert_intent(_intent("a1", "surge", "005930", Side.BUY, 10, 70_000, 0))
        for n, (qty, fee) in enumerate(((6, 63), (4, 42)), start=1):
            fill = Fill(
                "a1",
                "0000101",
                str(n),
                "005930",
                Side.BUY,
                qty,
                70_000,
                fee,
                0,
                kst(*DAY, 9, 0, n),
                FillSource.WS,
            )
            await store.apply_fill(fill, new_state=IntentState.FILLED if n == 2 else None)
        await store.insert_intent(_intent("a2", "surge", "005930", Side.SELL, 4, 71_000, 30))
        sell = Fill(
            "a2", "0000102", "3", "005930", Side.SELL, 4, 71_000, 42, 568, kst(*DAY, 9, 30, 1), FillSource.WS
        )
        await store.apply_fill(sell, new_state=IntentState.FILLED)
        await store.insert_intent(_intent("a3", "gap", "000660", Side.BUY, 5, 180_000, 40))
        buy = Fill(
            "a3", "0000103", "4", "000660", Side.BUY, 5, 180_000, 135, 0, kst(*DAY, 9, 40, 1), FillSource.WS
        )
        await store.apply_fill(buy, new_state=IntentState.FILLED)
        await store.insert_intent(_intent("a4", "gap", "035720", Side.BUY, 1, 40_000, 41))
        await store.transition_intent("a4", IntentState.REJECTED, time=kst(*DAY, 9, 41, 1))
        await store.append_journal(
            "condition_hit", {"seq": "0", "name": "삼성전자"}, time=kst(*DAY, 9), code="005930"
        )
        await store.append_journal(
            "condition_hit", {"seq": "1", "name": "SK하이닉스"}, time=kst(*DAY, 9), code="000660"
        )
        for rule in ("max_positions", "budget", "max_positions"):
            await store.append_journal(
                "denial", {"rule": rule, "reason": "x"}, time=kst(*DAY, 10), strategy="gap"
            )
        await store.append_journal("denial", {"rule": "budget", "reason": "x"}, time=kst(2026, 11, 19, 10))
        await store.append_journal("reconnect", {"event": "down", "reason": "eof"}, time=kst(*DAY, 11))
        await store.append_journal(
            "reconnect", {"event": "resynced", "reconnects": 1}, time=kst(*DAY, 11, 0, 2)
        )


# What the day above must add up to (average-cost P&L, fees of buys realized when paid).
SURGE_REALIZED = (71_000 - 70_000) * 4 - 42 - 568 - 105  # = 3,285
GAP_REALIZED = -135


# A made-up report with every part filled in (for notices, renderers and the mail sink).
REPORT = EndOfDayReport(
    trade_date=date(2026, 11, 20),
    time=kst(2026, 11, 20, 15, 45),
    source="daemon",
    strategies=(
        StrategyTrades("gap", 1, 5, 900_000, 0, 0, 0, 135, 0, -135),
        StrategyTrades("surge", 2, 10, 700_000, 1, 4, 284_000, 147, 568, 3_285),
    ),
    positions=(OpenPosition("surge", "005930", "삼성전자", 6, 70_000, 420_000, 70_500, 3_000),),
    broker=BrokerCheck(
        Comparison.COMPARED,
        holdings_compared=2,
        orders_compared=3,
        deposit=Deposit(5_000_000, 0, 4_900_000, 4_800_000, 0),
    ),
    denials=(("max_positions", 2), ("budget", 1)),
    reconnects=1,
    notify_drops=0,
    orders=(("working", 0), ("filled", 3), ("rejected", 1), ("unknown", 0), ("canceled", 0), ("total", 4)),
)
