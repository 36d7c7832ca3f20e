"""au10001 (issue token) and au10002 (revoke) — protocol §2."""

from __future__ import annotations

from bot.clock import format_kst_timestamp
from bot.sim.core import SimCore
from bot.sim.protocol import err_bad_grant_type, err_bad_keys, err_revoke_failed
from bot.sim.rest import TrError, TrReply, TrRequest


def _check_keys(core: SimCore, body: dict[str, str]) -> None:
    if body.get("appkey") != core.settings.appkey or body.get("secretkey") != core.settings.secretkey:
        raise TrError(err_bad_keys())


def issue_token(core: SimCore, req: TrRequest) -> TrReply:
    """au10001: the app key's current token (same string and expiry while valid) or a new one."""
    if req.body.get("grant_type") != "client_credentials":
        raise TrError(err_bad_grant_type())
    _check_keys(core, req.body)
    token = core.tokens.issue(req.body["appkey"], core.clock.now())
    return TrReply({
        "expires_dt": format_kst_timestamp(token.expires_at),
        "token_type": "Bearer",
        "token": token.value,
    })  # fmt: skip


def revoke_token(core: SimCore, req: TrRequest) -> TrReply:
    """au10002: forget the token; the next call with it answers [8005]."""
    _check_keys(core, req.body)
    if not core.tokens.revoke(req.body["token"]):
        raise TrError(err_revoke_failed())
    return TrReply({})
