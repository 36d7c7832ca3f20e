"""Token issue, lookup, revoke and forced expiry for the simulator (protocol §2)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token and the app key it is bound to; expires at `expires_at` on the simulator clock."""

    value: str
    appkey: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"IssuedToken(value=***{self.value[-4:]}, expires_at={self.expires_at.isoformat()})"


class TokenBook:
    """Issues one token per app key and answers whether a presented token is valid now.

    Reissuing while the current token is valid returns the same token with the original expiry
    (observed on the real host, §2.1), so a client must trust `expires_dt` rather than assume 24 h.
    """

    def __init__(self, lifetime_s: float) -> None:
        self._lifetime = timedelta(seconds=lifetime_s)
        self._by_value: dict[str, IssuedToken] = {}
        self._current: dict[str, IssuedToken] = {}

    def issue(self, appkey: str, now: datetime) -> IssuedToken:
        """The app key's valid token, or a fresh one if it has none."""
        current = self._current.get(appkey)
        if current is not None and current.expires_at > now and current.value in self._by_value:
            return current
        token = IssuedToken(secrets.token_urlsafe(64), appkey, now + self._lifetime)
        self._by_value[token.value] = token
        self._current[appkey] = token
        return token

    def lookup(self, value: str, now: datetime) -> IssuedToken | None:
        """The token if it is known, not revoked and not expired at `now`."""
        token = self._by_value.get(value)
        if token is None or token.expires_at <= now:
            return None
        return token

    def revoke(self, value: str) -> bool:
        """Forget a token; False if it was not known."""
        token = self._by_value.pop(value, None)
        if token is None:
            return False
        if self._current.get(token.appkey) is token:
            del self._current[token.appkey]
        return True

    def expire_all(self) -> int:
        """Invalidate every issued token (fault injection); returns how many there were."""
        count = len(self._by_value)
        self._by_value.clear()
        self._current.clear()
        return count
