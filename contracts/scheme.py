"""The Annex 3 scoring scheme, as data kept on the contract.

`assessment_parts`: a list of parts, each
    {"code": "sending", "name": "...", "max": 30,
     "bands": [{"band": "full", "min": 30, "max": 30}, {"band": "minor", ...}, ...]}
`payment_ratio_bands`: a list of {"min": 80, "max": 100, "ratio": "1.00"}.

These are pure functions over plain data: no ORM, no settings.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

BAND_CODES = ("full", "minor", "serious", "not_met")


@dataclass(frozen=True)
class Band:
    band: str
    min: int
    max: int


@dataclass(frozen=True)
class Part:
    code: str
    name: str
    max: int
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class RatioBand:
    min: int
    max: int
    ratio: Decimal


def parse_parts(raw: list[dict]) -> tuple[Part, ...]:
    return tuple(
        Part(
            code=p["code"],
            name=p.get("name", p["code"]),
            max=int(p["max"]),
            bands=tuple(Band(b["band"], int(b["min"]), int(b["max"])) for b in p["bands"]),
        )
        for p in raw
    )


def parse_ratio_bands(raw: list[dict]) -> tuple[RatioBand, ...]:
    return tuple(RatioBand(int(r["min"]), int(r["max"]), Decimal(str(r["ratio"]))) for r in raw)


def _check_cover(ranges: list[tuple[int, int]], low: int, high: int, what: str) -> None:
    """The ranges must cover low..high exactly, without gaps or overlaps."""
    expected = low
    for lo, hi in sorted(ranges):
        if lo > hi:
            raise ValueError(f"{what}: range {lo}-{hi} is empty.")
        if lo != expected:
            raise ValueError(f"{what}: ranges must cover {low}-{high} without gap or overlap (at {expected}).")
        expected = hi + 1
    if expected != high + 1:
        raise ValueError(f"{what}: ranges must reach {high}.")


def validate_scheme(parts_raw: list[dict], ratio_raw: list[dict]) -> None:
    """Raise ValueError with a precise message when the scheme is not usable."""
    try:
        parts = parse_parts(parts_raw)
        ratios = parse_ratio_bands(ratio_raw)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise ValueError(f"Malformed scheme: {exc!r}") from exc
    if not parts:
        raise ValueError("At least one assessment part is needed.")
    codes = [p.code for p in parts]
    if len(set(codes)) != len(codes):
        raise ValueError("Part codes must be unique.")
    for part in parts:
        _check_cover([(b.min, b.max) for b in part.bands], 0, part.max, f"part {part.code}")
        if {b.band for b in part.bands} - set(BAND_CODES):
            raise ValueError(f"part {part.code}: band names must be among {', '.join(BAND_CODES)}.")
    total = sum(p.max for p in parts)
    _check_cover([(r.min, r.max) for r in ratios], 0, total, "payment ratio bands")
    for r in ratios:
        if not Decimal(0) <= r.ratio <= Decimal(1):
            raise ValueError("A payment ratio must lie between 0 and 1.")


def band_for_score(part: Part, score: int) -> str:
    """The Annex 3 band of a whole-number part score; ValueError when out of range."""
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(f"{part.code}: the score must be a whole number.")
    for band in part.bands:
        if band.min <= score <= band.max:
            return band.band
    raise ValueError(f"{part.code}: the score must lie between 0 and {part.max}.")


def ratio_for_total(total: int, ratio_bands: tuple[RatioBand, ...]) -> Decimal:
    """The payment ratio for a total score (Annex 3: 80-100 -> 1.00 ... 0-49 -> 0.00)."""
    for band in ratio_bands:
        if band.min <= total <= band.max:
            return band.ratio
    raise ValueError(f"No payment ratio covers the total {total}.")
