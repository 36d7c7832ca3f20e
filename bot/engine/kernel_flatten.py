"""The operator's exit-everything (`Flatten`): stop entries, cancel working entries, sell what is held.

Trading goes REDUCING first (persisted, so nothing re-enters, even after a restart); a HALTED kill
switch is never loosened by a flatten — its exits go out only if exits are allowed while halted.
Every working buy of the strategies is canceled, and each strategy position gets ONE sell for the
quantity working sells do not already cover, through the risk gate as an exit. Holdings and orders
placed outside the bot (`_external`, HTS/MTS) are not touched.

Order type: a market order (시장가) whenever the session accepts one (KRX opening auction,
continuous trading, closing auction, NXT main market): it is the exit a trader means by "get me
out" and, priced by the exchange, it cannot miss the market. Where market orders are refused (NXT
pre-/after-market) the exit is a best-limit (최유리지정가): marketable against the best bid, never
sent blindly at the lower price limit. Where neither is accepted (KRX off-hours sessions, closed
market) the exit goes to the risk gate as a market order anyway, so the denial says why.

A buy that still fills after its cancel was asked for (or before the cancel reached the broker)
gets its own exit, for as long as the flatten stands (until trading is ACTIVE again).
"""

from __future__ import annotations

import structlog

from bot.domain.orders import CancelOrder, OrderDenied, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState
from bot.engine.kernel_reconcile import Reconciliation
from bot.engine.kernel_types import Flatten, FlattenStarted
from bot.engine.portfolio import EXTERNAL, WorkingOrder
from bot.store import FillSource

log = structlog.get_logger(__name__)

FLATTEN_REASON = "flatten"
_EXIT_TYPES = (OrderType.MARKET, OrderType.BEST_LIMIT)  # in order of preference


class Flattening(Reconciliation):
    """Acts on `Flatten` and keeps covering late entry fills until trading is ACTIVE again."""

    _flattening: bool = False

    async def _flatten(self, item: Flatten) -> None:
        """REDUCING, cancel working entries, one exit per strategy position; publish what was done."""
        self._flattening = True
        if self.risk.state is TradingState.ACTIVE:
            await self._set_state(TradingState.REDUCING, f"flatten: {item.reason}", item.by)
        canceled = 0
        for order in self.portfolio.working():
            if order.side is Side.BUY and not order.external and order.strategy != EXTERNAL:
                denial = await self._execute(
                    None, CancelOrder(order.strategy, order.intent_id, FLATTEN_REASON)
                )
                canceled += denial is None
        positions = orders = 0
        skipped: list[str] = []
        for strategy, code in sorted(self.portfolio.positions()):
            if strategy == EXTERNAL:
                continue
            positions += 1
            sent, why = await self._exit_position(strategy, code)
            orders += sent
            if why:
                skipped.append(f"{strategy} {code}: {why}")
        event = FlattenStarted(
            item.by, item.reason, positions, orders, canceled, tuple(skipped), self.clock.now()
        )
        log.warning("flatten_started", by=item.by, positions=positions, orders=orders, skipped=skipped)
        self.sink(event)
        await self._journal(
            "flatten",
            {"by": item.by, "reason": item.reason, "positions": positions, "orders": orders,
             "canceled": canceled, "skipped": skipped},
        )  # fmt: skip

    async def _exit_position(self, strategy: str, code: str) -> tuple[bool, str]:
        """Send one sell for what working sells do not cover: (sent, why not)."""
        held = self.portfolio.position(strategy, code).qty
        if held < 0:
            return False, f"short {held:,} (an oversell the broker reported): not flattened automatically"
        selling = sum(o.remaining_qty for o in self.portfolio.working(strategy, code) if o.side is Side.SELL)
        qty = held - selling
        if qty <= 0:
            return False, ""  # working sells already cover it: nothing to add
        cmd = SubmitOrder(
            strategy,
            code,
            Side.SELL,
            qty,
            self._exit_type(),
            0,
            venue=self.venue,
            reason=FLATTEN_REASON,
            is_exit=True,
        )
        denial: OrderDenied | None = await self._execute(None, cmd)
        if denial is not None:
            return False, f"{denial.rule}: {denial.reason}"
        return True, ""

    def _exit_type(self) -> OrderType:
        """Market if the session takes it, else best-limit; market when neither (the gate says why)."""
        if self.guard is None:
            return OrderType.MARKET
        now = self.clock.now()
        for order_type in _EXIT_TYPES:
            if self.guard.order_block(self.venue, now, order_type) is None:
                return order_type
        return OrderType.MARKET

    async def _book_fill(
        self, order: WorkingOrder, cum_qty: int, cum_amount: int, fill_no: str, source: FillSource
    ) -> None:
        """Book as usual; during a flatten an entry that still filled gets its exit too."""
        await super()._book_fill(order, cum_qty, cum_amount, fill_no, source)
        if not self._flattening or order.side is not Side.BUY or order.external or order.strategy == EXTERNAL:
            return
        if self.risk.state is TradingState.ACTIVE:  # resumed: the flatten is over
            self._flattening = False
            return
        sent, why = await self._exit_position(order.strategy, order.code)
        if sent or why:
            log.warning(
                "flatten_late_fill_exit", strategy=order.strategy, code=order.code, sent=sent, why=why
            )
