"""A generated session in the recording format, for replay tests and throughput measurements.

Records look like a daemon's: `meta`, a kt00001 and one ka10001 reply per symbol, the LOGIN and
CNSRLST replies, then REAL frames — full 0B prints (~40 FIDs, ~700 bytes, prices walking on the
tick grid) for every symbol in turn, and now and then a `02` condition insert or delete. Seeded:
the same arguments give the same records.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from bot.market.ticks import add_ticks, price_limits

SYMBOLS: dict[str, tuple[str, int]] = {
    "005930": ("삼성전자", 101_900), "000660": ("SK하이닉스", 623_000), "035420": ("NAVER", 251_000),
    "105560": ("KB금융", 118_400), "034020": ("두산에너빌리티", 74_300), "086520": ("에코프로", 98_700),
    "003490": ("대한항공", 23_450), "051910": ("LG화학", 312_500), "005380": ("현대차", 236_000),
    "068270": ("셀트리온", 187_600),
}  # fmt: skip
CONDITIONS = (("0", "거래량급증"), ("1", "신고가"))
_OK = {"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}


def _wall(when: datetime) -> str:
    return when.isoformat(timespec="microseconds")


def _sign(price: int, base: int) -> str:
    return f"+{price}" if price > base else f"-{price}" if price < base else str(price)


def generate_session(
    start: datetime, frames: int, *, seed: int = 1, step_ms: int = 10, condition_every: int = 400
) -> Iterator[dict[str, Any]]:
    """`frames` REAL frames (ticks, and a condition push every `condition_every`) from `start` on."""
    rng = random.Random(seed)
    now, mono = start, 1000.0
    yield {"k": "meta", "v": 1, "wall": _wall(now), "mono": mono, "source": "generator", "mode": "dry-run",
           "trading_day": start.date().isoformat(), "config": ""}  # fmt: skip
    yield _rest(now, "kt00001", "/api/dostk/acnt", {"qry_tp": "3"},
                {"entr": "000000100000000", "ord_alow_amt": "000000100000000", **_OK})  # fmt: skip
    state: dict[str, dict[str, int]] = {}
    for code, (name, base) in SYMBOLS.items():
        lower, upper = price_limits(base)
        state[code] = {"base": base, "price": base, "open": base, "high": base, "low": base, "volume": 0}
        yield _rest(now, "ka10001", "/api/dostk/stkinfo", {"stk_cd": code},
                    {"stk_cd": code, "stk_nm": name, "cur_prc": str(base), "base_pric": str(base),
                     "upl_pric": f"+{upper}", "lst_pric": f"-{lower}", "open_pric": str(base),
                     "high_pric": str(base), "low_pric": str(base), "pred_pre": "0", "flu_rt": "0.00",
                     "trde_qty": "0", **_OK})  # fmt: skip
    yield _ws(now, {"trnm": "LOGIN", "return_code": 0, "return_msg": "", "sor_yn": "Y"})
    yield _ws(
        now, {"trnm": "CNSRLST", "return_code": 0, "return_msg": "", "data": [list(c) for c in CONDITIONS]}
    )
    codes = list(SYMBOLS)
    members: set[str] = set()
    step = timedelta(milliseconds=step_ms)
    for i in range(frames):
        now += step
        if condition_every and i % condition_every == condition_every - 1:
            code = rng.choice(codes)
            inserted = code not in members
            (members.add if inserted else members.discard)(code)
            values = {
                "841": "0",
                "9001": code,
                "843": "I" if inserted else "D",
                "20": f"{now:%H%M%S}",
                "907": "2",
            }
            yield _ws(now, {"trnm": "REAL", "data": [{"type": "02", "name": "조건검색", "item": code,
                                                      "values": values}]})  # fmt: skip
            continue
        code = codes[i % len(codes)]
        s = state[code]
        lower, upper = price_limits(s["base"])
        s["price"] = min(max(add_ticks(s["price"], rng.choice((-1, 0, 0, 1))), lower), upper)
        qty = rng.randint(1, 300) * (1 if rng.random() < 0.5 else -1)
        s["volume"] += abs(qty)
        s["high"], s["low"] = max(s["high"], s["price"]), min(s["low"], s["price"])
        yield _ws(now, {"trnm": "REAL", "data": [{"type": "0B", "name": "주식체결", "item": code,
                                                  "values": _tick_values(s, qty, now)}]})  # fmt: skip


def _tick_values(s: dict[str, int], qty: int, now: datetime) -> dict[str, str]:
    """A full 0B entry (kiwoom-protocol.md §7.4): ~40 FIDs, signed prices, signed volume."""
    base, price = s["base"], s["price"]
    change = price - base
    rate = f"{change * 100 / base:+.2f}"
    ask, bid = add_ticks(price, 1), price
    hhmmss = f"{now:%H%M%S}"
    return {
        "20": hhmmss, "10": _sign(price, base), "11": f"{change:+d}", "12": rate, "27": _sign(ask, base),
        "28": _sign(bid, base), "15": f"{qty:+d}", "13": str(s["volume"]),
        "14": str(s["volume"] * price // 1_000_000),
        "16": _sign(s["open"], base), "17": _sign(s["high"], base), "18": _sign(s["low"], base),
        "25": "2" if change > 0 else "5" if change < 0 else "3", "26": "-1520331", "29": "-3812",
        "30": "48.12", "31": "0.21", "32": "", "228": "98.92", "311": "6089514", "290": "2", "691": "0",
        "567": "000000", "568": "000000", "851": "", "1890": "090000", "1891": "091512", "1892": "090411",
        "1030": str(s["volume"] // 2), "1031": str(s["volume"] - s["volume"] // 2), "1032": "50.10",
        "1071": "812", "1072": "790", "1313": str(abs(qty) * price), "1315": "0", "1316": "0", "1314": "0",
        "620": str(base), "732": "", "852": "", "9081": "1",
    }  # fmt: skip


def _ws(now: datetime, frame: dict[str, Any]) -> dict[str, Any]:
    return {"k": "ws", "wall": _wall(now), "mono": 0.0,
            "frame": json.dumps(frame, ensure_ascii=False, separators=(",", ":"))}  # fmt: skip


def _rest(now: datetime, api_id: str, path: str, req: dict[str, Any], resp: dict[str, Any]) -> dict[str, Any]:
    return {"k": "rest", "wall": _wall(now), "mono": 0.0, "api_id": api_id, "path": path, "req": req,
            "status": 200, "latency_ms": 3.0, "headers": {"cont-yn": "N", "next-key": ""},
            "resp": resp}  # fmt: skip
