"""The seeded instrument list: well-known KRX names with realistic late-2026 previous closes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.market.ticks import InstrumentKind, floor_to_tick


@dataclass(frozen=True, slots=True)
class Listing:
    """One instrument: code, Korean name, previous close (기준가) and how lively it trades."""

    code: str
    name: str
    base: int
    market: Literal["KOSPI", "KOSDAQ"]
    kind: InstrumentKind = InstrumentKind.STOCK
    liveliness: int = 1  # 0 calm, 1 normal, 2 hot (bigger moves, more bursts)
    listed_shares: int = 100_000_000

    @property
    def taxed(self) -> bool:
        """Whether a sale pays securities transaction tax (domestic ETFs do not, rules §9)."""
        return self.kind is InstrumentKind.STOCK


def _l(
    code: str,
    name: str,
    base: int,
    market: Literal["KOSPI", "KOSDAQ"] = "KOSPI",
    kind: InstrumentKind = InstrumentKind.STOCK,
    liveliness: int = 1,
    shares_m: int = 100,
) -> Listing:
    return Listing(code, name, floor_to_tick(base, kind), market, kind, liveliness, shares_m * 1_000_000)


LISTINGS: tuple[Listing, ...] = (
    _l("005930", "삼성전자", 101_800, liveliness=0, shares_m=5_919),
    _l("000660", "SK하이닉스", 612_000, shares_m=728),
    _l("373220", "LG에너지솔루션", 391_500, shares_m=234),
    _l("207940", "삼성바이오로직스", 1_083_000, liveliness=0, shares_m=71),
    _l("005380", "현대차", 263_500, shares_m=204),
    _l("000270", "기아", 117_400, shares_m=393),
    _l("068270", "셀트리온", 183_900, shares_m=216),
    _l("035420", "NAVER", 254_500, shares_m=158),
    _l("035720", "카카오", 61_300, shares_m=442),
    _l("005490", "POSCO홀딩스", 331_000, shares_m=84),
    _l("105560", "KB금융", 121_700, liveliness=0, shares_m=381),
    _l("055550", "신한지주", 74_800, liveliness=0, shares_m=491),
    _l("051910", "LG화학", 352_500, shares_m=70),
    _l("006400", "삼성SDI", 284_000, shares_m=68),
    _l("012330", "현대모비스", 331_500, liveliness=0, shares_m=90),
    _l("012450", "한화에어로스페이스", 968_000, liveliness=2, shares_m=51),
    _l("034020", "두산에너빌리티", 76_400, liveliness=2, shares_m=640),
    _l("329180", "HD현대중공업", 553_000, shares_m=88),
    _l("066570", "LG전자", 88_700, shares_m=163),
    _l("015760", "한국전력", 41_950, liveliness=0, shares_m=641),
    _l("017670", "SK텔레콤", 53_400, liveliness=0, shares_m=214),
    _l("034220", "LG디스플레이", 11_390, shares_m=500),
    _l("003490", "대한항공", 23_150, shares_m=368),
    _l("003530", "한화투자증권", 4_515, liveliness=2, shares_m=214),
    _l("247540", "에코프로비엠", 148_600, "KOSDAQ", liveliness=2, shares_m=97),
    _l("086520", "에코프로", 98_300, "KOSDAQ", liveliness=2, shares_m=138),
    _l("196170", "알테오젠", 452_500, "KOSDAQ", liveliness=2, shares_m=53),
    _l("028300", "HLB", 50_700, "KOSDAQ", liveliness=2, shares_m=131),
    _l("293490", "카카오게임즈", 15_870, "KOSDAQ", shares_m=83),
    _l("069500", "KODEX 200", 57_335, kind=InstrumentKind.ETF, liveliness=0, shares_m=150),
    _l("114800", "KODEX 인버스", 3_285, kind=InstrumentKind.ETF, liveliness=0, shares_m=300),
    _l("252670", "KODEX 200선물인버스2X", 1_487, kind=InstrumentKind.ETF, shares_m=900),
)


def synthetic_listings(count: int) -> tuple[Listing, ...]:
    """`count` extra calm KOSDAQ listings (codes 900001…, names 시뮬종목001…) for load tests that need
    more symbols than the well-known ones, e.g. reconciling 50 holdings at start-up."""
    if not 0 <= count <= 9_999:
        raise ValueError(f"synthetic listings: expected 0-9999, got {count}")
    return tuple(
        _l(f"9{n:05d}", f"시뮬종목{n:03d}", 5_000 + 250 * (n % 40), "KOSDAQ", liveliness=0, shares_m=20)
        for n in range(1, count + 1)
    )
