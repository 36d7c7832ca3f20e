"""TokenManager: issuance, expiry handling, single flight, 0600 cache, revoke, secret hygiene."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
import structlog

from bot.broker.kiwoom.auth import AppCredentials, _read_cache, _write_private, mask_secret
from bot.clock import ManualClock, kst
from bot.errors import AuthFailed
from bot.sim import SIM_APPKEY, SIM_SECRETKEY

from .rest_support import SimFactory, wired

pytestmark = pytest.mark.anyio


def test_mask_secret_is_stable_and_irreversible() -> None:
    """A masked secret never contains the secret and is the same for the same input."""
    secret = "R22y0dSECRETvalue86chars"
    masked = mask_secret(secret)
    assert secret not in masked and "SECRET" not in masked
    assert masked == mask_secret(secret) != mask_secret(secret + "x")
    assert mask_secret("") == "<empty>"


def test_credentials_repr_hides_both_keys() -> None:
    """repr/str of AppCredentials show neither the app key nor the secret key."""
    creds = AppCredentials(appkey="APPKEY-abcdef-123456", secretkey="SECRET-zyxwvu-987654")
    for text in (repr(creds), str(creds), f"{creds}"):
        assert "APPKEY-abcdef" not in text and "SECRET-zyxwvu" not in text
        assert "abcdef" not in text and "zyxwvu" not in text


def test_credentials_must_be_non_empty() -> None:
    """Empty keys are refused at construction."""
    with pytest.raises(ValueError, match="appkey and secretkey"):
        AppCredentials(appkey="", secretkey="x")


def test_private_write_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    """The cache file is created 0600 (and its directory 0700) whatever the process umask."""
    old = os.umask(0)
    try:
        path = tmp_path / "state" / "kiwoom-token-x.json"
        _write_private(path, b'{"token": "t", "expires_dt": "20261121083000"}')
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list(path.parent.glob("*.tmp"))


def test_private_write_replaces_atomically_and_fixes_mode(tmp_path: Path) -> None:
    """Rewriting replaces the content and leaves 0600 even if an old file was world-readable."""
    path = tmp_path / "kiwoom-token-x.json"
    path.write_text("old")
    path.chmod(0o644)
    _write_private(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_cache_readable_by_others_is_discarded(tmp_path: Path) -> None:
    """A cache file with group/other permissions is not trusted: it is removed and ignored."""
    path = tmp_path / "kiwoom-token-x.json"
    path.write_text('{"token": "tok", "expires_dt": "20261121083000"}')
    path.chmod(0o644)
    assert _read_cache(path) is None
    assert not path.exists()


def test_cache_round_trip_and_garbage(tmp_path: Path) -> None:
    """A valid cache reads back as (token, KST expiry); garbage reads as None."""
    path = tmp_path / "kiwoom-token-x.json"
    _write_private(path, b'{"token": "tok", "token_type": "Bearer", "expires_dt": "20261121083000"}')
    assert _read_cache(path) == ("tok", kst(2026, 11, 21, 8, 30))
    _write_private(path, b"not json")
    assert _read_cache(path) is None
    assert _read_cache(tmp_path / "absent.json") is None


# ---- against the simulator --------------------------------------------------------------------

START = kst(2026, 11, 20, 9, 0)


async def test_issue_sends_the_documented_request_and_reuses_the_token(
    tmp_path: Path, make_sim: SimFactory
) -> None:
    """au10001 is a POST to /oauth2/token with the exact headers and body; a second get() reuses it."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        token = await w.tokens.get()
        assert await w.tokens.get() == token
        assert sim.stats.rest_calls["au10001"] == 1
        [(_, path, headers, content)] = w.sent.of("au10001")
        assert path == "/oauth2/token"
        assert headers["content-type"] == "application/json;charset=UTF-8"
        assert headers["api-id"] == "au10001"
        assert "authorization" not in headers
        assert json.loads(content) == {
            "grant_type": "client_credentials",
            "appkey": SIM_APPKEY,
            "secretkey": SIM_SECRETKEY,
        }
        assert w.tokens.expires_at == START + timedelta(seconds=86_400)
        assert sim.tokens.lookup(token, clock.now()) is not None


async def test_concurrent_callers_share_one_issuance(make_sim: SimFactory) -> None:
    """Twenty concurrent get() calls cause exactly one au10001 and all see the same token."""
    clock = ManualClock(START)
    got: list[str] = []
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:

        async def one() -> None:
            got.append(await w.tokens.get())

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
        assert sim.stats.rest_calls["au10001"] == 1
        assert len(set(got)) == 1 and len(got) == 20


async def test_refresh_ahead_of_expiry_accepts_same_token_without_looping(make_sim: SimFactory) -> None:
    """Inside the margin we re-issue once; Kiwoom's same-token/same-expiry reply is kept until expiry."""
    clock = ManualClock(START)
    async with (
        make_sim(clock=clock, token_lifetime_s=300) as (sim, ep),
        wired(sim, ep, clock, refresh_margin_s=60) as w,
    ):
        first = await w.tokens.get()
        expiry = w.tokens.expires_at
        assert expiry == START + timedelta(seconds=300)
        clock.advance(239)  # 61 s before expiry: not yet due
        assert await w.tokens.get() == first
        assert sim.stats.rest_calls["au10001"] == 1
        clock.advance(2)  # 59 s before expiry: due
        assert await w.tokens.get() == first  # the server handed back the same token and expiry
        assert sim.stats.rest_calls["au10001"] == 2
        for _ in range(5):
            assert await w.tokens.get() == first
        clock.advance(30)
        assert await w.tokens.get() == first
        assert sim.stats.rest_calls["au10001"] == 2  # no refresh loop
        assert w.tokens.expires_at == expiry
        clock.advance(30)  # now at expiry
        second = await w.tokens.get()
        assert second != first
        assert sim.stats.rest_calls["au10001"] == 3
        assert w.tokens.expires_at == clock.now() + timedelta(seconds=300)


async def test_invalidate_reissues_once_for_all_callers(make_sim: SimFactory) -> None:
    """After a refusal the next get() re-issues; a late invalidate of the old token changes nothing."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        old = await w.tokens.get()
        sim.faults.expire_tokens()
        await w.tokens.invalidate(old)
        new = await w.tokens.get()
        assert new != old
        await w.tokens.invalidate(old)  # a second caller that saw the same refusal
        assert await w.tokens.get() == new
        assert sim.stats.rest_calls["au10001"] == 2


async def test_cache_file_is_0600_and_reused_by_a_new_instance(tmp_path: Path, make_sim: SimFactory) -> None:
    """The token is cached 0600 under a hashed name and a fresh TokenManager adopts it without issuing."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep):
        async with wired(sim, ep, clock, state_dir=tmp_path) as w1:
            token = await w1.tokens.get()
            path = w1.tokens.cache_path
        assert path is not None and path.parent == tmp_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert SIM_APPKEY not in path.name and SIM_APPKEY[:12] not in path.read_text()
        assert json.loads(path.read_text())["token"] == token
        async with wired(sim, ep, clock, state_dir=tmp_path) as w2:
            assert w2.tokens.cache_path == path
            assert await w2.tokens.get() == token
        assert sim.stats.rest_calls["au10001"] == 1


async def test_cache_is_per_host_and_app_key(tmp_path: Path, make_sim: SimFactory) -> None:
    """Another app key or another server gets another cache file."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep):
        async with wired(sim, ep, clock, state_dir=tmp_path) as a:
            path_a = a.tokens.cache_path
        other = AppCredentials(appkey="ANOTHERAPPKEY0123456789", secretkey="x" * 20)
        async with wired(sim, ep, clock, state_dir=tmp_path, credentials=other) as b:
            path_b = b.tokens.cache_path
    assert path_a is not None and path_b is not None and path_a != path_b


async def test_expired_cache_is_ignored(tmp_path: Path, make_sim: SimFactory) -> None:
    """A cached token past its expires_dt is discarded and a new one issued."""
    clock = ManualClock(START)
    async with make_sim(clock=clock, token_lifetime_s=300) as (sim, ep):
        async with wired(sim, ep, clock, state_dir=tmp_path) as w1:
            old = await w1.tokens.get()
        clock.advance(301)
        async with wired(sim, ep, clock, state_dir=tmp_path) as w2:
            new = await w2.tokens.get()
        assert new != old
        assert sim.stats.rest_calls["au10001"] == 2


async def test_revoke_forgets_the_token_everywhere(tmp_path: Path, make_sim: SimFactory) -> None:
    """revoke() calls au10002 with the token, the server forgets it, the cache goes, get() re-issues."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, state_dir=tmp_path) as w:
        token = await w.tokens.get()
        path = w.tokens.cache_path
        assert path is not None and path.exists()
        await w.tokens.revoke()
        assert sim.stats.rest_calls["au10002"] == 1
        [(_, rpath, headers, content)] = w.sent.of("au10002")
        assert rpath == "/oauth2/revoke" and "authorization" not in headers
        assert json.loads(content) == {"appkey": SIM_APPKEY, "secretkey": SIM_SECRETKEY, "token": token}
        assert sim.tokens.lookup(token, clock.now()) is None
        assert not path.exists()
        await w.tokens.revoke()  # nothing to revoke: no call
        assert sim.stats.rest_calls["au10002"] == 1
        assert await w.tokens.get() != token


async def test_bad_keys_raise_auth_failed_with_kiwoom_code(make_sim: SimFactory) -> None:
    """Wrong keys → AuthFailed carrying return_code 3 and code 8001; never retried; no key in the message."""
    clock = ManualClock(START)
    bad = AppCredentials(appkey="WRONGAPPKEY-1234567890", secretkey="WRONGSECRET-0987654321")
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, credentials=bad) as w:
        with pytest.raises(AuthFailed) as info:
            await w.tokens.get()
        error = info.value
        assert (error.api_id, error.return_code, error.msg_code, error.http_status) == (
            "au10001",
            3,
            "8001",
            200,
        )
        assert "WRONGAPPKEY" not in str(error) and "WRONGSECRET" not in str(error)
        assert sim.stats.rest_calls["au10001"] == 1


async def test_secrets_never_reach_logs_or_reprs(tmp_path: Path, make_sim: SimFactory) -> None:
    """Issuing, refusing, re-issuing and revoking log nothing that contains a key or a token."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, state_dir=tmp_path) as w:
        with structlog.testing.capture_logs() as logs:
            token = await w.tokens.get()
            sim.faults.expire_tokens()
            await w.tokens.invalidate(token)
            token2 = await w.tokens.get()
            await w.tokens.revoke()
        texts = [repr(entry) for entry in logs] + [repr(w.tokens), repr(w.rest), repr(w.tokens.cache_path)]
        assert any("token_issued" in t for t in texts)
        for secret in (SIM_APPKEY, SIM_SECRETKEY, token, token2):
            assert not [t for t in texts if secret in t]
