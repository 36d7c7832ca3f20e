"""Account TRs on `/api/dostk/acnt` (protocol §5): ka00001 now; balances and orders with the exchange."""

from __future__ import annotations

from bot.sim.core import SimCore
from bot.sim.rest import TrReply, TrRequest


def account_number(core: SimCore, req: TrRequest) -> TrReply:
    """ka00001: the 10-digit account bound to the token's app key."""
    return TrReply({"acctNo": core.settings.account_no}, return_msg=" 조회가 완료되었습니다.")
