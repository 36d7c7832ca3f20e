"""A generator of realistic recorded sessions in the recording format (gzip JSON lines).

    uv run python bench/gen_session.py OUT.jsonl.gz [--frames 1000000] [--seed 1] [--codes 32]

What a session holds (every record as in `/work/brief/record-format.md`): the meta line; the token
issue (secrets as "***"); the LOGIN and REG acks; a CNSRLST reply naming the saved conditions; the
realtime CNSRREQ replies with their first members; a ka10001 reply for every code (names, base
price, limits); then `--frames` REAL frames spread over the regular session 09:00-15:20: full 0B
ticks (all 43 FIDs of Kiwoom's 주식체결 catalogue entry, ~700 bytes each, prices on the tick grid
inside the daily limits, signs per protocol §6.1), several codes in one frame now and then, 02
condition inserts/deletes, and 1h VI triggers followed by their releases two minutes later.

Seeded and deterministic: the same arguments give the same records, byte for byte. Import
`records(...)` to get the records as dicts without touching the disk (the benchmarks do).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import sys
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import KST, format_kst_timestamp
from bot.market.ticks import InstrumentKind, floor_to_tick, price_limits, tick_size

SESSION_DAY = date(2026, 11, 20)
CONDITIONS: tuple[tuple[str, str], ...] = (("0", "거래량급증"), ("1", "신고가돌파"), ("2", "상승률상위"))
OPEN_S = 9 * 3600
CLOSE_S = 15 * 3600 + 20 * 60
VI_SECONDS = 120

# (code, name, previous close, kind, liveliness 0..2): well-known KRX names at late-2026 prices.
LISTINGS: tuple[tuple[str, str, int, InstrumentKind, int], ...] = tuple(
    (c, n, b, InstrumentKind.ETF if etf else InstrumentKind.STOCK, live)
    for c, n, b, etf, live in (
        ("005930", "삼성전자", 101_800, 0, 0), ("000660", "SK하이닉스", 612_000, 0, 1),
        ("373220", "LG에너지솔루션", 391_500, 0, 1), ("207940", "삼성바이오로직스", 1_083_000, 0, 0),
        ("005380", "현대차", 263_500, 0, 1), ("000270", "기아", 117_400, 0, 1),
        ("068270", "셀트리온", 183_900, 0, 1), ("035420", "NAVER", 254_500, 0, 1),
        ("035720", "카카오", 61_300, 0, 1), ("005490", "POSCO홀딩스", 331_000, 0, 1),
        ("105560", "KB금융", 121_700, 0, 0), ("055550", "신한지주", 74_800, 0, 0),
        ("051910", "LG화학", 352_500, 0, 1), ("006400", "삼성SDI", 284_000, 0, 1),
        ("012330", "현대모비스", 331_500, 0, 0), ("012450", "한화에어로스페이스", 968_000, 0, 2),
        ("034020", "두산에너빌리티", 76_400, 0, 2), ("329180", "HD현대중공업", 553_000, 0, 1),
        ("066570", "LG전자", 88_700, 0, 1), ("015760", "한국전력", 41_950, 0, 0),
        ("017670", "SK텔레콤", 53_400, 0, 0), ("034220", "LG디스플레이", 11_390, 0, 1),
        ("003490", "대한항공", 23_150, 0, 1), ("003530", "한화투자증권", 4_515, 0, 2),
        ("247540", "에코프로비엠", 148_600, 0, 2), ("086520", "에코프로", 98_300, 0, 2),
        ("196170", "알테오젠", 452_500, 0, 2), ("028300", "HLB", 50_700, 0, 2),
        ("293490", "카카오게임즈", 15_870, 0, 1), ("069500", "KODEX 200", 57_335, 1, 0),
        ("114800", "KODEX 인버스", 3_285, 1, 0), ("252670", "KODEX 200선물인버스2X", 1_487, 1, 1),
    )
)  # fmt: skip


def _signed_price(price: int, base: int) -> str:
    """Kiwoom's direction sign on a price (§6.1): `+` above the previous close, `-` below."""
    return f"+{price}" if price > base else f"-{price}" if price < base else str(price)


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _pct(num: int, den: int) -> str:
    """A two-decimal percentage with its sign, truncated like Kiwoom's (`"-0.24"`, `"+1.52"`, `"0.00"`)."""
    if not den:
        return "0.00"
    bp = abs(num) * 10_000 // den
    text = f"{bp // 100}.{bp % 100:02d}"
    return f"+{text}" if num > 0 and bp else f"-{text}" if num < 0 and bp else text


def _ratio(num: int, den: int) -> str:
    """An unsigned two-decimal percentage (`"98.92"`)."""
    bp = num * 10_000 // den if den else 0
    return f"{bp // 100}.{bp % 100:02d}"


def _hhmmss(second: int) -> str:
    return f"{second // 3600:02d}{second // 60 % 60:02d}{second % 60:02d}"


@dataclass(slots=True)
class _Symbol:
    """The running state of one generated symbol."""

    code: str
    name: str
    base: int
    kind: InstrumentKind
    weight: int
    upper: int
    lower: int
    price: int
    open: int = 0
    high: int = 0
    low: int = 0
    open_t: str = ""
    high_t: str = ""
    low_t: str = ""
    cum_vol: int = 0
    cum_value: int = 0
    buy_vol: int = 0
    sell_vol: int = 0
    buy_n: int = 0
    sell_n: int = 0
    upper_t: str = ""
    lower_t: str = ""
    vi_until: int = -1
    vi_price: int = 0
    vi_at: int = 0
    vi_count: int = 0
    anchor: int = 0
    prints: int = 0
    ohl: str = ""
    slow: str = ""

    def info_body(self) -> dict[str, str | int]:
        """The ka10001 reply body (fields per kiwoom-protocol.md §6, unsigned base, signed limits)."""
        base = self.base
        return {
            "stk_cd": self.code, "stk_nm": self.name, "setl_mm": "12", "fav": "100", "cap": "",
            "flo_stk": "100000", "crd_rt": "0.00", "oyr_hgst": _signed_price(self.upper, base),
            "oyr_lwst": _signed_price(self.lower, base), "mac": str(base // 1_000),
            "250hgst": _signed_price(self.upper, base), "250lwst": _signed_price(self.lower, base),
            "high_pric": str(base), "open_pric": str(base), "low_pric": str(base),
            "upl_pric": _signed_price(self.upper, base), "lst_pric": _signed_price(self.lower, base),
            "base_pric": str(base), "exp_cntr_pric": "0", "exp_cntr_qty": "0", "cur_prc": str(base),
            "pre_sig": "3", "pred_pre": "0", "flu_rt": "0.00", "trde_qty": "0", "trde_pre": "0.00",
            "return_code": 0, "return_msg": " 조회가 완료되었습니다.",
        }  # fmt: skip


class _Clock:
    """Record timestamps: `wall` ISO-8601 KST with microseconds, `mono` seconds since a fixed origin."""

    def __init__(self, day: date) -> None:
        self._midnight = datetime.combine(day, time(0), KST)
        self._prefix = self._midnight.strftime("%Y-%m-%dT")

    def stamp(self, us: int) -> tuple[str, float]:
        """(wall, mono) for `us` microseconds after midnight KST."""
        second, micro = divmod(us, 1_000_000)
        wall = (
            f"{self._prefix}{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{micro:06d}+09:00"
        )
        return wall, 1_000.0 + us / 1_000_000


class SessionGenerator:
    """Builds one session's records; `records()` yields them in time order."""

    def __init__(self, *, frames: int = 1_000_000, seed: int = 1, day: date = SESSION_DAY, codes: int = 32):
        if frames < 1:
            raise ValueError(f"frames must be >= 1, got {frames}")
        if not 1 <= codes <= len(LISTINGS):
            raise ValueError(f"codes must be 1..{len(LISTINGS)}, got {codes}")
        self.frames = frames
        self.seed = seed
        self.day = day
        self._rng = random.Random(seed)
        self._clock = _Clock(day)
        self.symbols: list[_Symbol] = []
        for code, name, base, kind, live in LISTINGS[:codes]:
            base = floor_to_tick(base, kind)
            lower, upper = price_limits(base, kind)
            self.symbols.append(_Symbol(code, name, base, kind, 1 + 2 * live, upper, lower, base))
        self._weights = list(itertools.accumulate(s.weight for s in self.symbols))
        self._members: dict[str, set[str]] = {seq: set() for seq, _ in CONDITIONS}
        self._t_second, self._t_text = -1, ""
        for sym in self.symbols:  # where the day drifts to: some symbols trend up, some down
            sym.anchor = floor_to_tick(sym.base * (10_000 + self._rng.randint(-800, 800)) // 10_000, sym.kind)

    # ------------------------------------------------------------------------------ records
    def records(self) -> Iterator[dict[str, Any]]:
        """Every record of the session in order: preamble, then the REAL frames of the day."""
        yield from self._preamble()
        yield from self._real_frames()

    def _rest(
        self, us: int, api_id: str, path: str, req: dict[str, Any], resp: dict[str, Any]
    ) -> dict[str, Any]:
        wall, mono = self._clock.stamp(us)
        return {
            "k": "rest", "wall": wall, "mono": mono, "api_id": api_id, "path": path, "req": req,
            "status": 200, "latency_ms": 3.0, "headers": {"cont-yn": "N", "next-key": ""}, "resp": resp,
        }  # fmt: skip

    def _ws(self, us: int, frame: str) -> dict[str, Any]:
        wall, mono = self._clock.stamp(us)
        return {"k": "ws", "wall": wall, "mono": mono, "frame": frame}

    def _preamble(self) -> Iterator[dict[str, Any]]:
        us = (8 * 3600 + 50 * 60) * 1_000_000
        wall, mono = self._clock.stamp(us)
        yield {
            "k": "meta", "v": 1, "wall": wall, "mono": mono, "source": "generator", "mode": "dry-run",
            "trading_day": self.day.isoformat(), "config": "",
        }  # fmt: skip
        expires = format_kst_timestamp(datetime.combine(self.day + timedelta(days=1), time(8, 50), KST))
        yield self._rest(
            us := us + 5_000, "au10001", "/oauth2/token",
            {"grant_type": "client_credentials", "appkey": "***", "secretkey": "***"},
            {"expires_dt": expires, "token_type": "Bearer", "token": "***", "return_code": 0,
             "return_msg": "정상적으로 처리되었습니다"},
        )  # fmt: skip
        dumps = _dumps
        yield self._ws(
            us := us + 5_000, dumps({"trnm": "LOGIN", "return_code": 0, "return_msg": "", "sor_yn": "Y"})
        )
        for _ in range(3):  # 00+04, 1h, 0B for every code
            yield self._ws(us := us + 2_000, dumps({"trnm": "REG", "return_code": 0, "return_msg": ""}))
        yield self._ws(
            us := us + 3_000,
            dumps(
                {"trnm": "CNSRLST", "return_code": 0, "return_msg": "", "data": [list(c) for c in CONDITIONS]}
            ),
        )
        for sym in self.symbols:
            yield self._rest(
                us := us + 4_000, "ka10001", "/api/dostk/stkinfo", {"stk_cd": sym.code}, sym.info_body()
            )
        for seq, _ in CONDITIONS:
            first = self._rng.sample(self.symbols, k=min(3, len(self.symbols)))
            self._members[seq].update(s.code for s in first)
            reply = {"trnm": "CNSRREQ", "seq": seq, "return_code": 0, "return_msg": "",
                     "data": [{"jmcode": "A" + s.code} for s in first]}  # fmt: skip
            yield self._ws(us := us + 3_000, dumps(reply))

    def _real_frames(self) -> Iterator[dict[str, Any]]:
        rng = self._rng
        span_us = (CLOSE_S - OPEN_S) * 1_000_000
        gap = span_us / self.frames
        us = OPEN_S * 1_000_000
        symbols, weights = self.symbols, self._weights
        for n in range(self.frames):
            us = OPEN_S * 1_000_000 + int(n * gap + rng.random() * gap)
            second = us // 1_000_000
            roll = rng.random()
            if roll < 0.002:
                text = self._condition_frame(second)
            elif roll < 0.0022 or self._vi_due(second):
                text = self._vi_frame(second)
            else:
                count = 1 if roll < 0.82 else 2 if roll < 0.96 else 3
                top = weights[-1]
                picked = [symbols[bisect(weights, rng.random() * top)] for _ in range(count)]
                entries = [self._tick_entry(s, second) for s in picked if s.vi_until < second]
                if not entries:
                    entries = [self._tick_entry(s, second) for s in symbols if s.vi_until < second][:1]
                text = '{"trnm":"REAL","data":[' + ",".join(entries) + "]}"
            yield self._ws(us, text)

    # ------------------------------------------------------------------------------ frames
    def _tick_entry(self, s: _Symbol, second: int) -> str:
        """One full 0B entry (43 FIDs) after a mean-reverting random-walk step of the symbol's price.

        The FIDs that move with every print are formatted each time; the slow statistics (26, 30, 31,
        228, 311, 851, 1032, 620 and the open/high/low times) are refreshed every 8th print of a symbol
        or when open/high/low change, which keeps a million frames to a few seconds of generation.
        """
        rng = self._rng
        price, base = s.price, s.base
        lean = (price - s.anchor) * 8 / s.anchor
        lean = -0.25 if lean < -0.25 else 0.25 if lean > 0.25 else lean
        step = rng.random()
        if step < 0.3 + lean:
            if price > s.lower:
                price -= tick_size(price - 1, s.kind)
        elif step > 0.7 + lean and price < s.upper:
            price += tick_size(price, s.kind)
        s.price = price
        t = self._hhmmss(second)
        if not s.open or price > s.high or price < s.low:
            if not s.open:
                s.open = s.high = s.low = price
                s.open_t = s.high_t = s.low_t = t
            elif price > s.high:
                s.high, s.high_t = price, t
                if price == s.upper and not s.upper_t:
                    s.upper_t = t
            else:
                s.low, s.low_t = price, t
                if price == s.lower and not s.lower_t:
                    s.lower_t = t
            s.ohl = (
                f'"16":"{_signed_price(s.open, base)}","17":"{_signed_price(s.high, base)}",'
                f'"18":"{_signed_price(s.low, base)}",'
            )
            s.slow = ""
        qty = 1 + int(rng.expovariate(0.008))
        buy = step >= 0.5
        if buy:
            s.buy_vol += qty
            s.buy_n += 1
        else:
            s.sell_vol += qty
            s.sell_n += 1
        s.cum_vol += qty
        s.cum_value += qty * price
        s.prints += 1
        if not s.slow or not s.prints & 7:
            s.slow = self._slow_fids(s)
        tick = tick_size(price, s.kind)
        ask, bid = (price, price - tick) if buy else (price + tick, price)
        if price > base:
            p, chg, sign = f"+{price}", f"+{price - base}", "1" if price == s.upper else "2"
            a, b = f"+{ask}", (f"+{bid}" if bid > base else str(bid))
        elif price < base:
            p, chg, sign = f"-{price}", str(price - base), "4" if price == s.lower else "5"
            a, b = (f"-{ask}" if ask < base else str(ask)), f"-{bid}"
        else:
            p, chg, sign, a, b = str(price), "0", "3", f"+{ask}" if ask > base else str(ask), f"-{bid}"
        value = qty * price
        return (
            f'{{"type":"0B","name":"주식체결","item":"{s.code}","values":{{'
            f'"20":"{t}","10":"{p}","11":"{chg}","12":"{_pct(price - base, base)}","27":"{a}","28":"{b}",'
            f'"15":"{"+" if buy else "-"}{qty}","13":"{s.cum_vol}","14":"{s.cum_value // 1_000_000}",'
            f'{s.ohl}"25":"{sign}","29":"+{value}",{s.slow}"1030":"{s.sell_vol}","1031":"{s.buy_vol}",'
            f'"1071":"{s.sell_n}","1072":"{s.buy_n}","1313":"{value // 1_000_000}",'
            f'"1315":"{0 if buy else qty}","1316":"{qty if buy else 0}",'
            f'"1314":"{_signed(s.buy_vol - s.sell_vol)}",'
            f'"1497":"0.00","1498":"0.00","732":"0.00","852":"0.00","9081":"1"}}}}'
        )

    @staticmethod
    def _slow_fids(s: _Symbol) -> str:
        """The 0B FIDs that drift slowly (ratios, averages, times of the day's open/high/low)."""
        strength = s.buy_vol * 10_000 // s.sell_vol if s.sell_vol else 50_000
        return (
            f'"26":"{_signed(s.cum_vol - 250_000)}","30":"{_ratio(s.cum_vol, 250_000)}",'
            f'"31":"{_ratio(s.cum_vol, 100_000_000)}","32":"","228":"{strength // 100}.{strength % 100:02d}",'
            f'"311":"{s.price * 100 // 1_000}","290":"2","691":"0","567":"{s.upper_t}","568":"{s.lower_t}",'
            f'"851":"{_ratio(s.cum_vol, 200_000)}",'
            f'"1890":"{s.open_t}","1891":"{s.high_t}","1892":"{s.low_t}",'
            f'"1032":"{_ratio(s.buy_vol, s.cum_vol)}","620":"{s.cum_value // s.cum_vol}",'
        )

    def _hhmmss(self, second: int) -> str:
        if second != self._t_second:
            self._t_second, self._t_text = second, _hhmmss(second)
        return self._t_text

    def _condition_frame(self, second: int) -> str:
        """A 02 insert (or a delete when the code is already a member) for one condition."""
        seq = self._rng.choice(CONDITIONS)[0]
        code = self._rng.choice(self.symbols).code
        members = self._members[seq]
        flag = "D" if code in members else "I"
        (members.discard if flag == "D" else members.add)(code)
        values = {
            "841": seq,
            "9001": code,
            "843": flag,
            "20": _hhmmss(second),
            "907": "2" if flag == "I" else "1",
        }
        return _dumps(
            {"trnm": "REAL", "data": [{"type": "02", "name": "조건검색", "item": code, "values": values}]}
        )

    def _vi_due(self, second: int) -> bool:
        return (
            any(0 <= s.vi_until <= second and s.vi_price for s in self.symbols) if second % 7 == 0 else False
        )

    def _vi_frame(self, second: int) -> str:
        """A VI release that is due, else a static VI trigger on a random symbol not in VI."""
        due = next((s for s in self.symbols if s.vi_price and 0 <= s.vi_until <= second), None)
        if due is not None:
            s, released = due, _hhmmss(second)
        else:
            free = [s for s in self.symbols if s.vi_until < second and not s.vi_price]
            s = self._rng.choice(free or self.symbols)
            s.vi_price, s.vi_at, s.vi_until, released = s.price, second, second + VI_SECONDS, ""
            s.vi_count += 1
        base = s.base
        values = {
            "9001": s.code, "302": s.name, "13": str(s.cum_vol), "14": str(s.cum_value // 1_000_000),
            "9068": "2" if released else "1", "9008": "1", "9075": "1",
            "1221": _signed_price(s.vi_price, base), "1223": _hhmmss(s.vi_at), "1224": released,
            "1225": "정적", "1236": str(base), "1237": "0", "1238": _pct(s.vi_price - base, base),
            "1239": "0.00", "1489": _pct(s.vi_price - base, base), "1490": str(s.vi_count),
            "9069": "1" if s.vi_price >= base else "2", "1279": "+정적",
        }  # fmt: skip
        if released:
            s.vi_price, s.vi_until = 0, -1
        return _dumps(
            {
                "trnm": "REAL",
                "data": [{"type": "1h", "name": "VI발동/해제", "item": s.code, "values": values}],
            }
        )


def _dumps(obj: Any) -> str:
    """JSON as Kiwoom sends it and as the recorder writes it: compact, Korean unescaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def records(
    *, frames: int = 1_000_000, seed: int = 1, day: date = SESSION_DAY, codes: int = 32
) -> Iterator[dict[str, Any]]:
    """The records of one generated session, in order (meta first), as the recorder would write them."""
    return SessionGenerator(frames=frames, seed=seed, day=day, codes=codes).records()


def write(path: Path, **kwargs: Any) -> int:
    """Write a generated session to `path` (gzip JSON lines); returns the number of records."""
    count = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        for record in records(**kwargs):
            out.write(_dumps(record))
            out.write("\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """CLI: write one session file and say what it holds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="file to write, e.g. 2026-11-20.1.jsonl.gz")
    parser.add_argument("--frames", type=int, default=1_000_000, help="REAL frames (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--codes", type=int, default=32, help=f"symbols, 1..{len(LISTINGS)}")
    parser.add_argument("--day", type=date.fromisoformat, default=SESSION_DAY, help="trading day YYYY-MM-DD")
    args = parser.parse_args(argv)
    count = write(args.out, frames=args.frames, seed=args.seed, codes=args.codes, day=args.day)
    print(f"records {count} lines file={args.out} size={args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
