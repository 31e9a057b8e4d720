"""Money is integer fen (0.01 yuan) in storage; yuan strings with two decimals at the edges.

Rounding is ROUND_HALF_UP, explicit, once, at the end of a computation.
"""

from decimal import ROUND_HALF_UP, Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

FEN_PER_YUAN = 100


def round_fen(amount_fen: Decimal | int) -> int:
    """An exact amount in fen -> whole fen, rounding half up: the one rounding step of a computation."""
    return int(Decimal(amount_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_to_fen(amount: Decimal | int | str) -> int:
    """Exact yuan amount -> whole fen, rounding half up (``Decimal("0.005")`` -> 1)."""
    return round_fen(Decimal(amount) * FEN_PER_YUAN)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / FEN_PER_YUAN).quantize(Decimal("0.01"))


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


@extend_schema_field({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "example": "144000.00"})
class FenAsYuanField(serializers.Field):
    """A serializer field for an integer-fen attribute, shown as a yuan string with two decimals."""

    def to_representation(self, value: int) -> str:
        return format_fen(value)

    def to_internal_value(self, data) -> int:
        try:
            amount = Decimal(str(data))
        except Exception as exc:
            raise serializers.ValidationError('Enter an amount in yuan, e.g. "1234.56".') from exc
        if amount != amount.quantize(Decimal("0.01")):
            raise serializers.ValidationError("At most two decimals (fen).")
        return yuan_to_fen(amount)


def format_rate(rate: Decimal) -> str:
    """A ratio as a string with two decimals: ``Decimal("0.1000")`` -> ``"0.10"``."""
    return str(Decimal(rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
