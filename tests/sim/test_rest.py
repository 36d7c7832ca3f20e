"""The REST envelope over a real socket: OAuth, Kiwoom's error shapes, rate limit and paging."""

from __future__ import annotations

import httpx
import pytest

from bot.clock import ManualClock, format_kst_timestamp
from bot.sim import SIM_APPKEY, SIM_SECRETKEY
from tests.sim.support import CREDENTIALS, OPEN, SimFactory, call, issue_token

pytestmark = pytest.mark.anyio


async def test_token_is_reissued_unchanged_while_valid_and_expires_by_the_sim_clock(
    make_sim: SimFactory,
) -> None:
    """au10001 answers token/Bearer/expires_dt (KST); a reissue returns the same token and original expiry."""
    clock = ManualClock(OPEN)
    async with make_sim(clock=clock, start=OPEN, token_lifetime_s=3600, market_step_s=60) as (_sim, ep):
        async with httpx.AsyncClient(base_url=ep.rest_url) as client:
            first = (await client.post("/oauth2/token", json=CREDENTIALS)).json()
            assert first["token_type"] == "Bearer" and first["return_code"] == 0
            assert first["expires_dt"] == "20261120100000" == format_kst_timestamp(OPEN.replace(hour=10))
            assert len(first["token"]) >= 40
            clock.advance(1800)
            again = (await client.post("/oauth2/token", json=CREDENTIALS, headers={"api-id": ""})).json()
            assert (again["token"], again["expires_dt"]) == (first["token"], first["expires_dt"])
            clock.advance(1800)
            expired = await call(client, first["token"], "ka00001", {})
            assert expired.status_code == 200
            assert expired.json() == {
                "return_code": 3,
                "return_msg": "인증에 실패했습니다[8005:Token이 유효하지 않습니다]",
            }
            fresh = (await client.post("/oauth2/token", json=CREDENTIALS)).json()
            assert fresh["token"] != first["token"] and fresh["expires_dt"] == "20261120110000"


async def test_bad_keys_and_revoked_tokens_answer_category_3(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """Wrong keys → HTTP 200 rc 3 [8001]; a revoked token → rc 3 [8005]."""
    _sim, ep = sim_server
    async with httpx.AsyncClient(base_url=ep.rest_url) as client:
        bad = await client.post("/oauth2/token", json={**CREDENTIALS, "secretkey": "nope"})
        assert bad.status_code == 200
        assert bad.json() == {
            "return_code": 3,
            "return_msg": "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다]",
        }
        token = await issue_token(client)
        revoked = await client.post(
            "/oauth2/revoke", json={"appkey": SIM_APPKEY, "secretkey": SIM_SECRETKEY, "token": token}
        )
        assert revoked.json()["return_code"] == 0
        after = await call(client, token, "ka00001", {})
        assert after.json()["return_code"] == 3 and "[8005:" in after.json()["return_msg"]


async def test_request_form_errors_carry_kiwoom_codes(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """Missing/unknown/misplaced api-id, bad authorization and missing fields answer 1501-1517 in brackets."""
    _sim, ep = sim_server
    async with httpx.AsyncClient(base_url=ep.rest_url) as client:
        token = await issue_token(client)
        auth = {"authorization": f"Bearer {token}"}

        async def code(path: str, headers: dict[str, str], body: object) -> str:
            reply = await client.post(path, json=body, headers=headers)
            assert reply.status_code == 200 and reply.json()["return_code"] != 0
            msg = str(reply.json()["return_msg"])
            return msg[msg.index("[") + 1 : msg.index(":", msg.index("["))]

        assert await code("/api/dostk/acnt", auth, {}) == "1501"
        assert await code("/api/dostk/acnt", {**auth, "api-id": "zz99999"}, {}) == "1505"
        assert await code("/api/dostk/ordr", {**auth, "api-id": "ka00001"}, {}) == "1504"
        assert await code("/api/dostk/acnt", {"api-id": "ka00001"}, {}) == "1513"
        assert (
            await code("/api/dostk/acnt", {"api-id": "ka00001", "authorization": "Basic abc"}, {}) == "1515"
        )
        assert await code("/api/dostk/acnt", {"api-id": "ka00001", "authorization": "Bearer"}, {}) == "1516"
        assert await code("/api/dostk/acnt", {"api-id": "ka00001", "authorization": ""}, {}) == "1514"
        assert await code("/api/dostk/acnt", {**auth, "api-id": "kt00001"}, {}) == "1511"
        assert await code("/api/dostk/acnt", {**auth, "api-id": "kt00001"}, {"qry_tp": 3}) == "1517"
        missing = await client.post(
            "/api/dostk/ordr", json={"dmst_stex_tp": "KRX"}, headers={**auth, "api-id": "kt10000"}
        )
        assert "파라미터=stk_cd" in missing.json()["return_msg"]


async def test_reads_are_post_only_and_websocket_trs_are_not_rest(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """GET is refused and a REST POST to the WebSocket path fails (§13.9)."""
    _sim, ep = sim_server
    async with httpx.AsyncClient(base_url=ep.rest_url) as client:
        assert (await client.get("/api/dostk/acnt", headers={"api-id": "ka00001"})).status_code == 405
        ws_path = await client.post(
            "/api/dostk/websocket", json={"trnm": "CNSRLST"}, headers={"api-id": "ka10171"}
        )
        assert ws_path.status_code == 404 and ws_path.json()["return_code"] != 0


@pytest.mark.parametrize(("style", "status"), [("rc5", 200), ("http429", 429)])
async def test_rate_limit_per_app_key(make_sim: SimFactory, style: str, status: int) -> None:
    """More than rest_rate_per_s calls in a second get [1700] as rc 5 (or HTTP 429 in that style)."""
    async with make_sim(rest_rate_per_s=3, rate_limit_style=style) as (sim, ep):
        async with httpx.AsyncClient(base_url=ep.rest_url) as client:
            token = await issue_token(client)  # token issuance counts too
            replies = [await call(client, token, "ka00001", {}) for _ in range(4)]
    assert [r.json()["return_code"] for r in replies] == [0, 0, 5, 5]
    assert [r.status_code for r in replies] == [200, 200, status, status]
    assert "[1700:" in replies[2].json()["return_msg"] and "API ID=ka00001" in replies[2].json()["return_msg"]
    assert sim.stats.rate_limited == 2


async def test_responses_carry_lowercase_paging_headers_and_string_values(make_sim: SimFactory) -> None:
    """Every TR reply echoes api-id and carries cont-yn/next-key; lists page with those headers."""
    async with make_sim(rest_page_size=2, rest_rate_per_s=100) as (sim, ep):
        for code in ("005930", "000660", "035420", "035720", "005380"):
            sim.faults.inject_external_order(
                code=code, side="buy", qty=1, price=sim.market.symbol(code).lower
            )
        async with httpx.AsyncClient(base_url=ep.rest_url) as client:
            token = await issue_token(client)
            body = {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"}
            pages, headers = [], {}
            while True:
                reply = await call(client, token, "ka10075", body, headers)
                assert reply.headers["api-id"] == "ka10075"
                assert "cont-yn" in reply.headers.keys() and "next-key" in reply.headers.keys()
                pages.append([row["ord_no"] for row in reply.json()["oso"]])
                if reply.headers["cont-yn"] != "Y":
                    break
                headers = {"cont-yn": "Y", "next-key": reply.headers["next-key"]}
    assert pages == [["0000005", "0000004"], ["0000003", "0000002"], ["0000001"]]
