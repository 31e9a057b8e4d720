"""Money is integer fen (0.01 yuan) in storage; yuan strings with two decimals at the edges.

Rounding is ROUND_HALF_UP, explicit, once, at the end of a computation.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100
FEN = Decimal("0.01")


def round_fen(amount_fen: Decimal | int) -> int:
    """An exact amount in fen -> whole fen, rounding half up: the one rounding step of a computation."""
    return int(Decimal(amount_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_to_fen(amount: Decimal | int | str) -> int:
    """Exact yuan amount -> whole fen, rounding half up (``Decimal("0.005")`` -> 1)."""
    return round_fen(Decimal(amount) * FEN_PER_YUAN)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / FEN_PER_YUAN).quantize(FEN)


class YuanParseError(ValueError):
    """A yuan amount that cannot be read; `code` names the fault (``not_a_number``, ``too_precise``,
    ``not_positive``) so each edge words it in its own language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_yuan(text: object, *, positive: bool = False) -> int:
    """A yuan amount typed by a person or sent by a client -> whole fen, exactly; never rounds.

    ``"1,234.56"`` -> ``123456``; thousands separators and surrounding spaces are allowed, more than
    two decimals are refused (an amount is never silently rounded), and so is a non-positive amount
    when ``positive`` is set. Raises `YuanParseError`."""
    raw = str(text).replace(",", "").strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise YuanParseError("not_a_number", 'Enter an amount in yuan, e.g. "1234.56".') from None
    if not amount.is_finite():
        raise YuanParseError("not_a_number", 'Enter an amount in yuan, e.g. "1234.56".')
    if amount != amount.quantize(FEN):
        raise YuanParseError("too_precise", "At most two decimals (fen).")
    if positive and amount <= 0:
        raise YuanParseError("not_positive", "The amount must be greater than 0.")
    return yuan_to_fen(amount)


def format_fen(fen: int) -> str:
    """``144000000`` -> ``"1440000.00"`` (no floats, no thousands separator)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def format_fen_grouped(fen: int) -> str:
    """``144000000`` -> ``"1,440,000.00"`` for pages and PDFs."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


def format_unit_price(price: Decimal) -> str:
    """A unit price (yuan per message) with at least two decimals and no trailing zeros beyond:
    ``Decimal("0.0300")`` -> ``"0.03"``, ``1`` -> ``"1.00"``, ``Decimal("0.035")`` -> ``"0.035"``."""
    value = Decimal(price).normalize()
    exponent = value.as_tuple().exponent
    return format(value.quantize(FEN) if isinstance(exponent, int) and exponent > -2 else value, "f")


def format_rate(rate: Decimal) -> str:
    """A ratio as a string with two decimals: ``Decimal("0.1000")`` -> ``"0.10"``."""
    return str(Decimal(rate).quantize(FEN, rounding=ROUND_HALF_UP))
