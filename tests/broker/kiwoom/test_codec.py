"""REAL decoding: frames written from kiwoom-protocol.md's examples (§6.1, §7.3, §7.4, §8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.broker.kiwoom.codec import REAL_FIDS_READ, WS_TR_FIELDS, RealDecoder, parse_frame, parse_text_payload
from bot.broker.kiwoom.subscriptions import RegRequest, Subscriptions
from bot.broker.kiwoom.ws_frames import (
    check_reply,
    cnsrreq_frame,
    decode_condition_list,
    decode_condition_page,
    is_auth_refusal,
    login_frame,
    reg_frame,
)
from bot.clock import ManualClock, kst
from bot.domain.account import BalanceEvent, OrderAction, OrderEvent, OrderStatus
from bot.domain.market import (
    ConditionExit,
    ConditionHit,
    OrderBook,
    Tick,
    ViKind,
    ViReleased,
    ViTriggered,
)
from bot.domain.values import Side, Venue
from bot.errors import InvalidRequest, ProtocolError, ServiceFailed

DAY = kst(2026, 11, 20, 10, 0, 0)

# §7.3 verbatim, plus the OHLC/best quotes a full 0B carries.
TICK_0B = {
    "type": "0B",
    "name": "주식체결",
    "item": "005930",
    "values": {
        "20": "165208", "10": "-20800", "11": "-50", "12": "-0.24", "15": "+82", "13": "30379732",
        "228": "98.92", "16": "+20900", "17": "+21000", "18": "-20700", "27": "-20850", "28": "-20800",
    },
}  # fmt: skip

# §7.4 00 doc example (접수) with the account, code and 2134 a live push carries.
ORDER_ACCEPTED = {
    "type": "00",
    "name": "주문체결",
    "item": "005930",
    "values": {
        "9201": "8100123411", "9203": "0000018", "9001": "A005930", "302": "삼성전자", "913": "접수",
        "900": "1", "901": "0", "902": "1", "903": "0", "904": "0000000", "905": "+매수", "906": "시장가",
        "907": "2", "908": "094022", "909": "", "910": "", "911": "", "2134": "1",
    },
}  # fmt: skip


def _entry(rtype: str, values: dict[str, str], item: str = "005930") -> dict[str, Any]:
    return {"type": rtype, "name": "", "item": item, "values": values}


@pytest.fixture
def decoder() -> RealDecoder:
    """A decoder whose session date is 2026-11-20 (KST)."""
    return RealDecoder(ManualClock(DAY))


def test_tick_sign_is_direction_and_volume_sign_is_aggressor(decoder: RealDecoder) -> None:
    """0B: prices are absolute, 15 keeps its aggressor sign, 12 becomes bp, 20 lands on the session date."""
    tick = decoder.decode_entry(TICK_0B)
    assert tick == Tick(
        code="005930",
        time=kst(2026, 11, 20, 16, 52, 8),
        price=20800,
        qty=82,
        cum_volume=30379732,
        change=-50,
        change_rate_bp=-24,
        open=20900,
        high=21000,
        low=20700,
        best_ask=20850,
        best_bid=20800,
        venue=Venue.KRX,
    )
    sold = decoder.decode_entry(_entry("0B", {**TICK_0B["values"], "15": "-7", "10": "+20850"}, "005930_NX"))
    assert isinstance(sold, Tick)
    assert (sold.qty, sold.price, sold.venue) == (-7, 20850, Venue.NXT)


def test_order_book_levels_and_totals(decoder: RealDecoder) -> None:
    """0D: ask n = FIDs 40+n/60+n, bid n = 50+n/70+n, best first, signs dropped, totals 121/125."""
    values = {"21": "090001", "121": "5000", "125": "7000"}
    for n in range(1, 11):
        values[str(40 + n)] = f"+{70000 + 100 * n}"
        values[str(60 + n)] = str(10 * n)
        values[str(50 + n)] = f"-{70000 - 100 * (n - 1)}"
        values[str(70 + n)] = str(20 * n)
    book = decoder.decode_entry(_entry("0D", values))
    assert isinstance(book, OrderBook)
    assert book.time == kst(2026, 11, 20, 9, 0, 1)
    assert [(lv.price, lv.qty) for lv in book.asks[:2]] == [(70100, 10), (70200, 20)]
    assert [(lv.price, lv.qty) for lv in book.bids[:2]] == [(70000, 20), (69900, 40)]
    assert (len(book.asks), len(book.bids), book.total_ask_qty, book.total_bid_qty) == (10, 10, 5000, 7000)


def test_order_accepted_from_doc_example(decoder: RealDecoder) -> None:
    """00 접수: 'A' prefix stripped, 905 +매수 → new buy, empty fill fields → 0, 2134 1 → KRX."""
    ev = decoder.decode_entry(ORDER_ACCEPTED)
    assert isinstance(ev, OrderEvent)
    assert (ev.order_no, ev.orig_order_no, ev.code, ev.name) == ("0000018", "0000000", "005930", "삼성전자")
    assert (ev.status, ev.action, ev.side, ev.venue) == (
        OrderStatus.ACCEPTED,
        OrderAction.NEW,
        Side.BUY,
        Venue.KRX,
    )
    assert (ev.order_qty, ev.order_price, ev.remaining_qty, ev.fill_qty, ev.fill_price) == (1, 0, 1, 0, 0)
    assert ev.time == kst(2026, 11, 20, 9, 40, 22)
    assert ev.order_type_text == "시장가"


def test_order_partial_fills_each_describe_one_fill(decoder: RealDecoder) -> None:
    """00 체결: two partial fills of a 10-share order keep their own qty/price and the remaining qty."""
    base = {
        **ORDER_ACCEPTED["values"], "913": "체결", "900": "10", "901": "70000", "906": "보통", "905": "-매도",
        "907": "1", "2134": "2",
    }  # fmt: skip
    first = decoder.decode_entry(
        _entry("00", {**base, "909": "1001", "910": "-70000", "911": "4", "902": "6", "903": "280000",
                      "938": "70", "939": "0", "908": "100001"})
    )  # fmt: skip
    second = decoder.decode_entry(
        _entry("00", {**base, "909": "1002", "910": "+70100", "911": "6", "902": "0", "903": "700600",
                      "938": "175", "939": "1260", "908": "100002"})
    )  # fmt: skip
    assert isinstance(first, OrderEvent) and isinstance(second, OrderEvent)
    assert (first.side, first.venue, first.status) == (Side.SELL, Venue.NXT, OrderStatus.FILLED)
    assert (first.fill_no, first.fill_qty, first.fill_price, first.remaining_qty, first.cum_fill_amount) == (
        "1001",
        4,
        70000,
        6,
        280000,
    )
    assert (second.fill_no, second.fill_qty, second.fill_price, second.remaining_qty) == ("1002", 6, 70100, 0)
    assert (second.fee, second.tax, second.time) == (175, 1260, kst(2026, 11, 20, 10, 0, 2))


@pytest.mark.parametrize(
    ("text", "side_907", "action", "side"),
    [
        ("+매수정정", "2", OrderAction.MODIFY, Side.BUY),
        ("-매도정정", "1", OrderAction.MODIFY, Side.SELL),
        ("매수취소", "2", OrderAction.CANCEL, Side.BUY),
        ("매도취소", "", OrderAction.CANCEL, Side.SELL),
    ],
)
def test_order_action_from_905(
    decoder: RealDecoder, text: str, side_907: str, action: OrderAction, side: Side
) -> None:
    """905 gives new/modify/cancel; the side comes from 907, or from 905's text when 907 is empty."""
    ev = decoder.decode_entry(
        _entry("00", {**ORDER_ACCEPTED["values"], "905": text, "907": side_907, "913": "확인"})
    )
    assert isinstance(ev, OrderEvent)
    assert (ev.action, ev.side, ev.status) == (action, side, OrderStatus.CONFIRMED)


def test_order_rejected_reason(decoder: RealDecoder) -> None:
    """00 거부 carries 919 as the reason."""
    values = {**ORDER_ACCEPTED["values"], "913": "거부", "919": "매수증거금이 부족합니다"}
    ev = decoder.decode_entry(_entry("00", values))
    assert isinstance(ev, OrderEvent)
    assert (ev.status, ev.reject_reason) == (OrderStatus.REJECTED, "매수증거금이 부족합니다")


def test_balance_event(decoder: RealDecoder) -> None:
    """04: holding qty 930, sellable 933, avg price 931, price 10 absolute, code prefix stripped."""
    values = {"9201": "8100123411", "9001": "A005930", "302": "삼성전자", "10": "-70100", "930": "15",
              "931": "70050", "933": "10", "932": "1050750"}  # fmt: skip
    ev = decoder.decode_entry({"type": "04", "name": "현물잔고", "item": "005930", "values": values})
    assert ev == BalanceEvent("005930", "삼성전자", 15, 10, 70050, 70100, DAY)


def test_vi_triggered_then_released(decoder: RealDecoder) -> None:
    """1h: no release time → ViTriggered with 1225 → ViKind; a release time in 1224 → ViReleased."""
    base = {"9001": "005930", "302": "삼성전자", "9068": "1", "9008": "1", "9075": "1", "1221": "+77000",
            "1223": "101500", "1224": "", "1225": "동적"}  # fmt: skip
    on = decoder.decode_entry(_entry("1h", base))
    assert on == ViTriggered("005930", "삼성전자", kst(2026, 11, 20, 10, 15), 77000, ViKind.DYNAMIC)
    both = decoder.decode_entry(_entry("1h", {**base, "1224": "000000", "1225": "동적+정적"}))
    assert isinstance(both, ViTriggered) and both.kind is ViKind.BOTH
    static = decoder.decode_entry(_entry("1h", {**base, "1225": "정적"}))
    assert isinstance(static, ViTriggered) and static.kind is ViKind.STATIC
    off = decoder.decode_entry(_entry("1h", {**base, "1224": "101700"}))
    assert off == ViReleased("005930", "삼성전자", kst(2026, 11, 20, 10, 17))


def test_condition_insert_and_delete_with_padded_seq(decoder: RealDecoder) -> None:
    """02: 843 I → ConditionHit, D → ConditionExit; a padded 841 seq is stripped (§8 example)."""
    values = {"841": "4  ", "9001": "005930", "843": "I", "20": "152028", "907": "2"}
    assert decoder.decode_entry(_entry("02", values)) == ConditionHit(
        "4", "005930", kst(2026, 11, 20, 15, 20, 28)
    )
    gone = decoder.decode_entry(_entry("02", {**values, "843": "D", "9001": "A000660"}))
    assert gone == ConditionExit("4", "000660", kst(2026, 11, 20, 15, 20, 28))


@pytest.mark.parametrize(
    ("rtype", "values", "needle"),
    [
        ("0B", {**TICK_0B["values"], "10": "12a00"}, "FID 10"),
        ("0B", {**TICK_0B["values"], "15": "1_000"}, "FID 15"),
        ("0B", {**TICK_0B["values"], "12": "-0.2x"}, "FID 12"),
        ("0B", {**TICK_0B["values"], "13": 5.5}, "FID 13"),
        ("0B", {k: v for k, v in TICK_0B["values"].items() if k != "20"}, "FID 20"),
        ("0B", {**TICK_0B["values"], "20": "256161"}, "FID 20"),
        ("00", {**ORDER_ACCEPTED["values"], "900": "ten"}, "FID 900"),
        ("00", {**ORDER_ACCEPTED["values"], "913": "모름"}, "FID 913"),
        ("00", {k: v for k, v in ORDER_ACCEPTED["values"].items() if k != "9203"}, "FID 9203"),
        ("00", {**ORDER_ACCEPTED["values"], "2134": "9"}, "FID 2134"),
        ("04", {"9001": "005930", "930": "--1"}, "FID 930"),
        ("1h", {"9001": "005930", "1225": "정체불명", "1224": ""}, "FID 1225"),
        ("02", {"841": "1", "9001": "005930", "843": "X"}, "FID 843"),
    ],
)
def test_bad_values_raise_protocol_error(
    decoder: RealDecoder, rtype: str, values: dict[str, Any], needle: str
) -> None:
    """A bad number, a missing required FID or an unknown code raises ProtocolError naming the FID."""
    with pytest.raises(ProtocolError, match=needle):
        decoder.decode_entry(_entry(rtype, values))


def test_frame_with_bad_and_unknown_entries_keeps_the_good_ones(decoder: RealDecoder) -> None:
    """One bad entry and one unknown type do not drop the good entries of the same frame."""
    frame = {
        "trnm": "REAL",
        "data": [
            TICK_0B,
            _entry("0B", {**TICK_0B["values"], "10": "oops"}),
            _entry("0J", {"10": "2500.12"}),
            "not an entry",
            {"type": "0B", "item": "005930", "values": ["20", "10"]},
            ORDER_ACCEPTED,
        ],
    }
    batch = decoder.decode_frame(parse_frame(json.dumps(frame, ensure_ascii=False)))
    assert [type(e).__name__ for e in batch.events] == ["Tick", "OrderEvent"]
    assert batch.unknown_types == ["0J"]
    assert len(batch.errors) == 3


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"\x00\x01binary", "binary"),
        ('{"trnm": "REAL", "data": [', "not JSON"),
        ("hello", "not JSON"),
        ('["REAL"]', "JSON object"),
        ('{"data": []}', "trnm"),
        ('{"trnm": 5}', "trnm"),
    ],
)
def test_parse_frame_rejects_malformed_frames(raw: str | bytes, needle: str) -> None:
    """Non-JSON, truncated, binary and shapeless frames raise ProtocolError."""
    with pytest.raises(ProtocolError, match=needle):
        parse_frame(raw)


def test_real_frame_without_data_list_is_one_error(decoder: RealDecoder) -> None:
    """A REAL frame whose data is not a list yields one error and no events."""
    batch = decoder.decode_frame({"trnm": "REAL", "data": {"type": "0B"}})
    assert (batch.events, len(batch.errors)) == ([], 1)


def test_declared_fids_are_the_ones_read() -> None:
    """REAL_FIDS_READ covers every decoded type, and 0D lists exactly the level FIDs it reads."""
    assert set(REAL_FIDS_READ) == {"0B", "0D", "00", "04", "1h", "02"}
    book = set(REAL_FIDS_READ["0D"])
    assert {str(n) for n in range(41, 81)} <= book and "81" not in book and "91" not in book
    for names in WS_TR_FIELDS.values():
        assert "trnm" in names


def test_decoding_a_tick_is_fast(decoder: RealDecoder) -> None:
    """A 0B entry decodes in well under 50 µs (a generous bound; the benchmark measures it for real)."""
    import time

    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        decoder.decode_entry(TICK_0B, DAY)
    per_entry_us = (time.perf_counter() - start) / n * 1e6
    assert per_entry_us < 50, per_entry_us


# ----------------------------------------------------------------------------- control frames


def test_login_and_reg_frames() -> None:
    """LOGIN carries the raw token; REG/REMOVE carry item and type as arrays, REG with refresh."""
    assert json.loads(login_frame("tok123")) == {"trnm": "LOGIN", "token": "tok123"}
    reg = json.loads(reg_frame(RegRequest("REG", "1", ("005930", "000660"), ("0B", "0D"))))
    assert reg == {"trnm": "REG", "grp_no": "1", "refresh": "1",
                   "data": [{"item": ["005930", "000660"], "type": ["0B", "0D"]}]}  # fmt: skip
    rm = json.loads(reg_frame(RegRequest("REMOVE", "1", ("005930",), ("0B",))))
    assert rm == {"trnm": "REMOVE", "grp_no": "1", "data": [{"item": ["005930"], "type": ["0B"]}]}


def test_cnsrreq_frames_use_catalogue_fields() -> None:
    """One-shot CNSRREQ pages with cont_yn/next_key in the body; realtime sends search_type 1 only."""
    first = json.loads(cnsrreq_frame("4", realtime=False, stex_tp="K"))
    assert first == {"trnm": "CNSRREQ", "seq": "4", "search_type": "0", "stex_tp": "K", "cont_yn": "N",
                     "next_key": ""}  # fmt: skip
    more = json.loads(cnsrreq_frame("4", realtime=False, stex_tp="K", next_key="20"))
    assert (more["cont_yn"], more["next_key"]) == ("Y", "20")
    rt = json.loads(cnsrreq_frame("4", realtime=True, stex_tp="K"))
    assert rt == {"trnm": "CNSRREQ", "seq": "4", "search_type": "1", "stex_tp": "K"}
    assert set(first) <= set(WS_TR_FIELDS["ka10172"]) and set(rt) <= set(WS_TR_FIELDS["ka10173"])


def test_condition_list_accepts_arrays_and_objects() -> None:
    """CNSRLST rows decode from [seq, name] arrays (wire) and {seq, name} objects (catalogue)."""
    arrays = {"trnm": "CNSRLST", "return_code": 0, "data": [["0", "조건1"], ["1 ", "조건2"]]}
    objects = {
        "trnm": "CNSRLST",
        "return_code": 0,
        "data": [{"seq": "0", "name": "조건1"}, {"seq": "1", "name": "조건2"}],
    }
    assert decode_condition_list(arrays) == decode_condition_list(objects)
    assert [(c.seq, c.name) for c in decode_condition_list(arrays)] == [("0", "조건1"), ("1", "조건2")]
    with pytest.raises(ProtocolError):
        decode_condition_list({"trnm": "CNSRLST", "data": [["0"]]})


def test_condition_pages_strip_prefix() -> None:
    """CNSRREQ rows: 9001 (one-shot) and jmcode (realtime) lose their 'A' prefix; paging is in the body."""
    page = decode_condition_page(
        {"trnm": "CNSRREQ", "seq": "4 ", "cont_yn": "Y", "next_key": "10", "return_code": 0,
         "data": [{"9001": "A005930", "302": "삼성전자", "10": "000075000"}, {"9001": "A000660"}]},
        realtime=False,
    )  # fmt: skip
    assert (page.seq, page.codes, page.more, page.next_key) == ("4", ("005930", "000660"), True, "10")
    rt = decode_condition_page(
        {"trnm": "CNSRREQ", "seq": "4", "data": [{"jmcode": "A035420"}]}, realtime=True
    )
    assert (rt.codes, rt.more) == (("035420",), False)


def test_reply_errors_and_auth_refusals() -> None:
    """A non-zero return_code raises ServiceFailed; LOGIN refusals carrying 8005/8031/8103 are auth."""
    with pytest.raises(ServiceFailed, match="ka10172"):
        check_reply({"trnm": "CNSRREQ", "return_code": 1, "return_msg": "조건검색 오류"}, "ka10172")
    refused = "토큰 인증에 실패했습니다. 접속을 종료합니다 [CODE=8005, MESSAGE=Token이 유효하지 않습니다]"
    assert is_auth_refusal({"trnm": "LOGIN", "return_code": 805004, "return_msg": refused})
    assert is_auth_refusal({"trnm": "LOGIN", "return_code": 3, "return_msg": ""})
    assert not is_auth_refusal(
        {"trnm": "LOGIN", "return_code": 1, "return_msg": "[CODE=1999, 기타오류 80051]"}
    )


# ----------------------------------------------------------------------------- subscriptions


def test_subscriptions_split_150_items_into_two_groups() -> None:
    """150 codes become two REG requests of 100 and 50 in different groups; repeats add nothing."""
    subs = Subscriptions()
    codes = [f"{n:06d}" for n in range(150)]
    plans = subs.plan_add(codes, ["0B"])
    assert [(p.grp_no, len(p.items)) for p in plans] == [("1", 100), ("2", 50)]
    for p in plans:
        subs.apply(p)
    assert subs.plan_add(codes[:10], ["0B"]) == []
    more = subs.plan_add(["999999"], ["0B"])
    assert [(p.grp_no, p.items) for p in more] == [("2", ("999999",))]


def test_subscriptions_itemless_types_and_named_groups() -> None:
    """00/04/1h register with item [""]; a named group refuses mixed types and more than 100 items."""
    subs = Subscriptions()
    (acct,) = subs.plan_add([], ["00", "04"])
    assert (acct.items, acct.types) == (("",), ("00", "04"))
    with pytest.raises(InvalidRequest, match="types"):
        subs.plan_add(["005930"], ["0B", "00"])
    with pytest.raises(InvalidRequest, match="cap"):
        subs.plan_add([f"{n:06d}" for n in range(101)], ["0B"], grp_no="7")
    subs.apply(subs.plan_add(["005930"], ["0B"], grp_no="0007")[0])
    with pytest.raises(InvalidRequest, match="holds types"):
        subs.plan_add(["000660"], ["0D"], grp_no="7")
    (rm,) = subs.plan_remove(["005930"])
    assert (rm.trnm, rm.grp_no, rm.items, rm.types) == ("REMOVE", "7", ("005930",), ("0B",))
    subs.apply(rm)
    assert subs.groups() == {}


def test_garbage_entries_only_ever_raise_protocol_error(decoder: RealDecoder) -> None:
    """Thousands of randomly mangled entries either decode or raise ProtocolError — nothing else."""
    import random

    rng = random.Random(5)
    junk: list[Any] = [None, 1, 2.5, True, "", "x", "-", "+", "0", "--1", "1e3", "٣", [], {}, ["a"], {"a": 1}]
    templates = [TICK_0B, ORDER_ACCEPTED, _entry("0D", {"21": "090000", "41": "+100", "61": "5"})]
    templates += [_entry("1h", {"9001": "005930", "1225": "정적", "1224": ""})]
    templates += [
        _entry("02", {"841": "1", "9001": "005930", "843": "I"}),
        _entry("04", {"9001": "A005930", "930": "1"}),
    ]
    outcomes = {"ok": 0, "error": 0}
    for _ in range(5000):
        entry = json.loads(json.dumps(rng.choice(templates)))
        for _ in range(rng.randint(1, 3)):
            where = rng.random()
            fids = list(entry["values"]) or ["x"]
            if where < 0.6:
                entry["values"][rng.choice(fids)] = rng.choice(junk)
            elif where < 0.7:
                entry["values"].pop(rng.choice(fids), None)
            elif where < 0.8:
                entry["type"] = rng.choice(junk)
            elif where < 0.9:
                entry["item"] = rng.choice(junk)
            else:
                entry = rng.choice(junk)
                break
        try:
            decoder.decode_entry(entry)
            outcomes["ok"] += 1
        except ProtocolError:
            outcomes["error"] += 1
    assert outcomes["ok"] > 100 and outcomes["error"] > 1000


@pytest.mark.parametrize(
    "payload",
    [
        '{"trnm":"REAL","data":[{"type":"0B","name":"주식체결","item":"005930","values":{"10":"+70000"}}]}',
        '{"trnm":"PING"}',
        "[1, 2]",
        '{"no_trnm": 1}',
        '{"trnm": 5}',
        "{not json",
        "",
    ],
)
def test_a_payload_parses_as_its_text_does(payload: str) -> None:
    """The socket's bytes path gives the same frame, or the same error, as parsing the decoded text."""
    try:
        expected: object = parse_frame(payload)
    except ProtocolError as exc:
        expected = str(exc)
    try:
        got: object = parse_text_payload(payload.encode())
    except ProtocolError as exc:
        got = str(exc)
    assert got == expected


def test_a_payload_that_is_not_utf8_is_refused_by_name() -> None:
    """Bytes that are not UTF-8 cannot be a text frame's payload: a ProtocolError that says so."""
    with pytest.raises(ProtocolError, match="got 7 bytes that are not UTF-8"):
        parse_text_payload(b'{"a":\xff}')
