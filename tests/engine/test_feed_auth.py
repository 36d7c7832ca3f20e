"""A token that cannot be renewed while reconnecting reaches the operator once, and the feed recovers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.clock import kst
from bot.domain.market import FeedAuthFailed, FeedResynced
from bot.notify.messages import Describer, Severity
from tests.engine.daemon_support import daemon, daemon_config, until

pytestmark = pytest.mark.anyio


async def test_token_refused_on_reconnect_is_reported_once_and_the_feed_comes_back(
    make_sim: Any, tmp_path: Path
) -> None:
    """Expired token + failing token service on reconnect → one FeedAuthFailed; fixed → FeedResynced."""
    async with make_sim(start=kst(2026, 11, 20, 9, 10)) as (sim, ep):
        cfg = daemon_config(ep, tmp_path, reconnect_base_s=0.05, reconnect_cap_s=0.1)
        events: list[object] = []
        async with daemon(sim, cfg, events) as kernel:
            sim.faults.expire_tokens()
            sim.faults.fail_rest(6, status=500)  # the token service is down for a while
            sim.faults.drop_ws()
            await until(lambda: any(isinstance(e, FeedAuthFailed) for e in events), 10)
            await until(lambda: any(isinstance(e, FeedResynced) for e in events), 20)
            assert kernel.stats.reconnects == 1
        failed = [e for e in events if isinstance(e, FeedAuthFailed)]
        assert len(failed) == 1  # once per outage, however many attempts failed
        assert failed[0].reason.startswith(("login_refused", "token_unavailable", "token_invalidate_failed"))
        notice = Describer(lambda code: code)(failed[0])
        assert notice is not None and notice.severity is Severity.ERROR and "토큰" in notice.title
