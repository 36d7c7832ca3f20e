"""The end-of-day report as an operator notice (kind `daily_report`): Korean labels, KRW with separators.

Each field is one short line, so Slack (fields joined on one line, values in bold), the plain-text
email (one field per line) and the HTML email (one table row per field) all stay readable on a phone.
"""

from __future__ import annotations

from bot.notify.messages import Notice, Severity, krw, signed_krw
from bot.report.model import Comparison, EndOfDayReport, StrategyTrades

MAX_LISTED = 5  # positions and differences listed one by one; the rest are counted
_OUTCOME_KO = (
    ("filled", "체결"),
    ("working", "미체결"),
    ("canceled", "취소"),
    ("rejected", "거부"),
    ("unknown", "미확인"),
)


def _stock(name: str, code: str) -> str:
    return f"{name}({code})" if name and name != code else code


def _trades(t: StrategyTrades) -> str:
    buys = f"매수 {t.buys:,}건 {t.buy_qty:,}주 {krw(t.buy_amount)}" if t.buys else "매수 0건"
    sells = f"매도 {t.sells:,}건 {t.sell_qty:,}주 {krw(t.sell_amount)}" if t.sells else "매도 0건"
    return f"{buys}, {sells}, 실현 {signed_krw(t.realized_pnl)}"


def _comparison(report: EndOfDayReport) -> list[tuple[str, str]]:
    b = report.broker
    if b.status is Comparison.UNAVAILABLE:
        return [("대사", f"브로커 비교 불가: {b.reason}")]
    if b.status is Comparison.NOT_COMPARED:
        return [("대사", f"비교 안 함: {b.reason}")]
    scope = f"보유 {b.holdings_compared:,}종목, 체결 {b.orders_compared:,}주문"
    out = [
        ("대사", f"차이 없음 ({scope})" if not b.differences else f"차이 {len(b.differences):,}건 ({scope})")
    ]
    out += [("차이", d.text()) for d in b.differences[:MAX_LISTED]]
    if len(b.differences) > MAX_LISTED:
        out.append(("차이", f"외 {len(b.differences) - MAX_LISTED:,}건"))
    if b.deposit is not None:
        d = b.deposit
        out.append(("예수금", f"{krw(d.cash)} (D+2 {krw(d.d2_cash)}, 주문가능 {krw(d.orderable)})"))
    return out


def report_fields(report: EndOfDayReport) -> tuple[tuple[str, str], ...]:
    """The report as (label, value) lines in Korean, each short enough for one line on a phone."""
    total = report.total
    fields: list[tuple[str, str]] = [("거래일", report.trade_date.isoformat())]
    fields += [(t.strategy, _trades(t)) for t in report.strategies] or [("체결", "없음")]
    fields.append(("수수료·세금", f"{krw(total.fees)} / {krw(total.taxes)}"))
    for p in report.positions[:MAX_LISTED]:
        value = f"{_stock(p.name, p.code)} {p.qty:,}주 평균 {krw(p.avg_price)}"
        if p.last_price is not None and p.unrealized_pnl is not None:
            value += f" 현재 {krw(p.last_price)} 평가 {signed_krw(p.unrealized_pnl)}"
        fields.append((f"보유 {p.strategy}", value))
    if len(report.positions) > MAX_LISTED:
        fields.append(("보유", f"외 {len(report.positions) - MAX_LISTED:,}종목"))
    if not report.positions:
        fields.append(("보유", "없음"))
    fields += _comparison(report)
    orders = dict(report.orders)
    fields.append(("주문", ", ".join(f"{ko} {orders.get(k, 0):,}" for k, ko in _OUTCOME_KO)))
    fields.append(("리스크 거절", ", ".join(f"{rule} {n:,}건" for rule, n in report.denials) or "없음"))
    fields.append(("재연결", f"{report.reconnects:,}회"))
    drops = "알 수 없음" if report.notify_drops is None else f"{report.notify_drops:,}건"
    fields.append(("알림 유실", drops))
    return tuple(fields)


def report_notice(report: EndOfDayReport) -> Notice:
    """The operator notice for the report; a difference or a failed comparison raises its severity."""
    b = report.broker
    worry = b.status is Comparison.UNAVAILABLE or bool(b.differences)
    return Notice(
        "daily_report",
        Severity.WARNING if worry else Severity.INFO,
        f"일일 보고 {report.trade_date.isoformat()}",
        report_fields(report),
        report.time,
        report.realized_pnl,
    )
