"""The report as an operator notice, and how Slack, email and the terminal show it."""

from __future__ import annotations

from bot.notify.messages import Describer, Severity
from bot.notify.render import email_html, email_plain, slack_message
from bot.report.model import BrokerCheck, Comparison, Difference, EndOfDayReport
from bot.report.notice import report_notice
from tests.report.support import REPORT


def test_notice_has_korean_labels_krw_separators_and_the_total_pnl() -> None:
    """Kind daily_report, INFO when clean, P&L total as pnl_krw, one short Korean line per field."""
    n = report_notice(REPORT)
    assert (n.kind, n.severity, n.title, n.pnl_krw, n.time) == (
        "daily_report", Severity.INFO, "일일 보고 2026-11-20", 3_150, REPORT.time,
    )  # fmt: skip
    fields = dict(n.fields)
    assert fields["surge"] == "매수 2건 10주 700,000원, 매도 1건 4주 284,000원, 실현 +3,285원"
    assert fields["gap"] == "매수 1건 5주 900,000원, 매도 0건, 실현 -135원"
    assert fields["보유 surge"] == "삼성전자(005930) 6주 평균 70,000원 현재 70,500원 평가 +3,000원"
    assert fields["대사"] == "차이 없음 (보유 2종목, 체결 3주문)"
    assert fields["예수금"] == "5,000,000원 (D+2 4,900,000원, 주문가능 4,800,000원)"
    assert fields["리스크 거절"] == "max_positions 2건, budget 1건"
    assert (fields["재연결"], fields["알림 유실"]) == ("1회", "0건")
    assert fields["주문"] == "체결 3, 미체결 0, 취소 0, 거부 1, 미확인 0"
    assert all("\n" not in value for _, value in n.fields)


def test_a_difference_or_an_unavailable_broker_raises_the_severity() -> None:
    """Differences are listed (first five, then counted); an unreachable broker is said so."""
    diffs = tuple(Difference("holding", f"00000{i}", "", i, 0) for i in range(7))
    n = report_notice(
        EndOfDayReport(**{**_fields(REPORT), "broker": BrokerCheck(Comparison.COMPARED, differences=diffs)})
    )
    assert n.severity is Severity.WARNING
    listed = [v for k, v in n.fields if k == "차이"]
    assert listed[:2] == ["holding 000000: journal 0, broker 0", "holding 000001: journal 1, broker 0"]
    assert len(listed) == 6 and listed[-1] == "외 2건"
    down = BrokerCheck(Comparison.UNAVAILABLE, "BrokerUnreachable: refused")
    n = report_notice(EndOfDayReport(**{**_fields(REPORT), "broker": down}))
    assert (n.severity, dict(n.fields)["대사"]) == (
        Severity.WARNING,
        "브로커 비교 불가: BrokerUnreachable: refused",
    )


def _fields(report: EndOfDayReport) -> dict[str, object]:
    return {name: getattr(report, name) for name in report.__dataclass_fields__}


def test_slack_and_email_show_every_field_legibly() -> None:
    """Slack gets one section with bold values and the coloured P&L; email plain has a line per field."""
    notice = report_notice(REPORT)
    text, blocks = slack_message([notice])
    assert text.startswith("15:45:00 일일 보고 2026-11-20 — 거래일 2026-11-20")
    section = blocks[0]["text"]["text"]
    assert "*일일 보고 2026-11-20*" in section and "대사 *차이 없음 (보유 2종목, 체결 3주문)*" in section
    assert "🔴 손익 *+3,150원*" in section
    plain = email_plain([notice]).splitlines()
    assert "  surge: 매수 2건 10주 700,000원, 매도 1건 4주 284,000원, 실현 +3,285원" in plain
    assert "  손익: +3,150원" in plain
    html = email_html([notice])
    assert "<td>리스크 거절</td><td><b>max_positions 2건, budget 1건</b></td>" in html


def test_the_describer_gives_the_report_its_own_notice() -> None:
    """The daemon publishes the report itself; the operator channels describe it with `report_notice`."""
    notice = Describer(lambda code: code)(REPORT)
    assert notice == report_notice(REPORT)
    assert notice is not None and (notice.kind, notice.pnl_krw) == ("daily_report", 3_150)
