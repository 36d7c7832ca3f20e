"""The exception tree, sorted by what the bot must do about each error.

KiwoomBotError
├── ConfigError ............... bad TOML or missing secret: refuse to start (exit 78)
├── InvalidRequest ............ we were about to send something wrong (unknown api-id, missing
│                               field, off-tick price): a bug or bad input, never sent
├── ProtocolError ............. a frame or body from the broker we cannot read: log, count, skip
└── BrokerError ............... the broker or the path to it failed; carries api_id, return_code,
    │                           msg_code (the [code] inside return_msg) and the HTTP status
    ├── NotProcessed .......... the broker certainly did not act: safe to resend later
    │   ├── BrokerUnreachable . connection refused / DNS / TLS before the request left
    │   ├── AuthFailed ........ HTTP 401, return_code 3, [8005]/[8031]/[8103]: re-issue token once
    │   └── RateLimited ....... return_code 5, [1700]/[1701]/[1702], HTTP 429: back off
    ├── OutcomeUnknown ........ the request may have been acted on: timeout after sending, reset,
    │                           5xx, unparsable reply. Orders become UNKNOWN and are reconciled,
    │                           never resent
    ├── Rejected .............. the broker answered no; terminal, never retried
    │   ├── RequestRefused .... malformed request by Kiwoom's word (1501/1504/1505/1511/1517, 1634)
    │   ├── BusinessRejected .. return_code 20: order rejection or a business message ([2000](...))
    │   └── ServiceFailed ..... any other non-zero return_code (e.g. 7 service error)
    └── SessionKicked ......... R10001: another session logged in with our app key; do not fight
"""

from __future__ import annotations


class KiwoomBotError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(KiwoomBotError):
    """The configuration is unusable; names the file, the key and what was expected."""


class InvalidRequest(KiwoomBotError, ValueError):
    """A request was refused locally before sending: it names the api-id and the field at fault."""


class ProtocolError(KiwoomBotError):
    """A broker frame or body that does not match the protocol."""


class BrokerError(KiwoomBotError):
    """The broker or the network failed a call; keeps Kiwoom's own codes for the operator."""

    def __init__(
        self,
        message: str,
        *,
        api_id: str = "",
        return_code: int | None = None,
        msg_code: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.api_id = api_id
        self.return_code = return_code
        self.msg_code = msg_code
        self.http_status = http_status

    def __str__(self) -> str:
        parts = [self.message]
        if self.api_id:
            parts.append(f"api-id={self.api_id}")
        if self.return_code is not None:
            parts.append(f"return_code={self.return_code}")
        if self.msg_code:
            parts.append(f"code={self.msg_code}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        return " ".join(parts)


class NotProcessed(BrokerError):
    """The broker certainly did not act on the request; resending later is safe."""


class BrokerUnreachable(NotProcessed):
    """The request never left: connection refused, DNS or TLS failure."""


class AuthFailed(NotProcessed):
    """The token or keys were refused; the client re-issues the token once and retries."""


class RateLimited(NotProcessed):
    """Kiwoom's request-count limit ([1700] etc. or HTTP 429); the request was not processed."""


class OutcomeUnknown(BrokerError):
    """The request may or may not have been acted on; an order in this state must be reconciled."""


class Rejected(BrokerError):
    """The broker answered and said no; terminal."""


class RequestRefused(Rejected):
    """Kiwoom refused the request's form (missing api-id, unknown api-id, missing field...)."""


class BusinessRejected(Rejected):
    """return_code 20: an order rejection or business message such as `[2000](RC4058:모의투자 장종료)`."""


class ServiceFailed(Rejected):
    """Any other non-zero return_code, e.g. 7 (service error)."""


class SessionKicked(BrokerError):
    """Another WebSocket session logged in with the same app key (SYSTEM R10001)."""
