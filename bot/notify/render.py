"""A batch of notices as a Slack Block Kit message or an email (plain text + HTML), phone-readable.

P&L is coloured by sign the Korean way: red (🔴, #d60000) for a gain, blue (🔵, #0050c8) for a loss.
Slack allows 50 blocks per message, so a large batch shows its first notices and counts the rest.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.notify.messages import Notice, Severity, signed_krw

MAX_SECTIONS = 40  # leaves room for the header and context blocks under Slack's 50-block limit
_ICON = {
    Severity.DEBUG: "·",
    Severity.INFO: "🟢",
    Severity.WARNING: "🟠",
    Severity.ERROR: "🛑",
    Severity.CRITICAL: "🚨",
}
_KIND_KO = {
    "fill": "체결",
    "order": "주문",
    "denial": "리스크 거절",
    "reject": "주문 거부",
    "cancel": "취소",
    "unknown": "미확인",
    "daily_report": "일일 보고",
    "dropped": "알림 유실",
    "lifecycle": "시작/종료",
    "feed_storm": "재연결 반복",
    "flatten": "전량 청산",
}
GAIN_COLOUR = "#d60000"
LOSS_COLOUR = "#0050c8"


LONG_NOTICE_FIELDS = 6


def _pnl_mark(amount: int) -> str:
    return "🔴" if amount > 0 else "🔵" if amount < 0 else "⚪"


def _mrkdwn_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_line(notices: Sequence[Notice]) -> str:
    """`체결 30건` / `체결 2건, 리스크 거절 1건`: what a batch holds, for headers and subjects."""
    counts = Counter(n.kind for n in notices)
    return ", ".join(f"{_KIND_KO.get(kind, kind)} {count:,}건" for kind, count in counts.items())


def _section(n: Notice) -> dict[str, Any]:
    stamp = f"`{n.time:%H:%M:%S}` " if n.time is not None else ""
    lines = [f"{_ICON[n.severity]} {stamp}*{_mrkdwn_escape(n.title)}*"]
    sep = "\n" if len(n.fields) > LONG_NOTICE_FIELDS else " · "  # a report reads line by line on a phone
    body = sep.join(
        f"{_mrkdwn_escape(label)} *{_mrkdwn_escape(value)}*" if label else _mrkdwn_escape(value)
        for label, value in n.fields
    )
    if body:
        lines.append(body)
    if n.pnl_krw is not None:
        lines.append(f"{_pnl_mark(n.pnl_krw)} 손익 *{signed_krw(n.pnl_krw)}*")
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}


def slack_message(notices: Sequence[Notice]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) for one Slack message carrying the whole batch."""
    if not notices:
        raise ValueError("slack_message needs at least one notice")
    blocks: list[dict[str, Any]] = []
    if len(notices) > 1:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": summary_line(notices)[:150]}})
    blocks += [_section(n) for n in notices[:MAX_SECTIONS]]
    if len(notices) > MAX_SECTIONS:
        more = len(notices) - MAX_SECTIONS
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"… 외 {more:,}건"}]})
    text = notices[0].plain() if len(notices) == 1 else summary_line(notices)
    return text[:3000], blocks


def email_subject(notices: Sequence[Notice], prefix: str) -> str:
    """A short subject: the single notice's title, or the batch summary."""
    core = notices[0].title if len(notices) == 1 else summary_line(notices)
    worst = max(n.severity for n in notices)
    flag = f"[{worst.name}] " if worst >= Severity.ERROR else ""
    return f"{prefix} {flag}{core}".strip()


def email_plain(notices: Sequence[Notice]) -> str:
    """The plain-text body: one block per notice."""
    parts = []
    for n in notices:
        lines = [f"[{n.severity.name}] " + (f"{n.time:%H:%M:%S} " if n.time else "") + n.title]
        lines += [f"  {label}: {value}" if label else f"  {value}" for label, value in n.fields]
        if n.pnl_krw is not None:
            lines.append(f"  손익: {signed_krw(n.pnl_krw)}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def email_html(notices: Sequence[Notice]) -> str:
    """The HTML body: a small table per notice, P&L in red (gain) or blue (loss)."""
    e = html.escape
    out = ['<html><body style="font-family:sans-serif">']
    for n in notices:
        stamp = f"{n.time:%H:%M:%S} " if n.time else ""
        out.append(f"<h3>{e(stamp)}{e(n.title)} <small>{e(n.severity.name)}</small></h3><table>")
        for label, value in n.fields:
            out.append(f"<tr><td>{e(label)}</td><td><b>{e(value)}</b></td></tr>")
        if n.pnl_krw is not None:
            colour = GAIN_COLOUR if n.pnl_krw > 0 else LOSS_COLOUR if n.pnl_krw < 0 else "#555555"
            out.append(
                f'<tr><td>손익</td><td><b style="color:{colour}">{e(signed_krw(n.pnl_krw))}</b></td></tr>'
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)
