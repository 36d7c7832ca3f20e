"""Email sink: the standard library's smtplib (STARTTLS, implicit TLS or plain; optional login) in a
worker thread, with an `EmailMessage` carrying a plain-text body and an HTML alternative.

(Named `mail` rather than `email` so it never shadows the standard library's `email` package.)
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from bot.notify.messages import Notice
from bot.notify.render import email_html, email_plain, email_subject

_MASK = "***"


class EmailSink:
    """Sends each batch as one email to every recipient."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        security: Literal["starttls", "ssl", "none"] = "starttls",
        username: str = "",
        password: str = "",
        subject_prefix: str = "[kiwoom-bot]",
        timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not recipients:
            raise ValueError("EmailSink needs at least one recipient")
        self._host, self._port = host, port
        self._sender, self._recipients = sender, tuple(recipients)
        self._security = security
        self._username, self._password = username, password
        self._prefix = subject_prefix
        self._timeout = timeout_s
        self._ssl = ssl_context

    def __repr__(self) -> str:
        return f"EmailSink(host={self._host!r}, port={self._port}, security={self._security!r})"

    def redact(self, text: str) -> str:
        """`text` without the SMTP password."""
        return text.replace(self._password, _MASK) if len(self._password) >= 4 else text

    def build(self, notices: Sequence[Notice]) -> EmailMessage:
        """The message for a batch: plain text first, HTML as the preferred alternative."""
        msg = EmailMessage()
        msg["Subject"] = email_subject(notices, self._prefix)
        msg["From"] = self._sender
        msg["To"] = ", ".join(self._recipients)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain="kiwoom-bot")
        msg.set_content(email_plain(notices))
        msg.add_alternative(email_html(notices), subtype="html")
        return msg

    def deliver(self, notices: Sequence[Notice]) -> None:
        """Connect, secure, log in if configured, send; raise on any SMTP or network error."""
        msg = self.build(notices)
        context = self._ssl or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self._security == "ssl":
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=context)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        with smtp:
            smtp.ehlo()
            if self._security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._username:
                smtp.login(self._username, self._password)
            smtp.send_message(msg, from_addr=self._sender, to_addrs=list(self._recipients))
