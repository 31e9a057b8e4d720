"""DRF fields shared by the apps' APIs. Kept apart from `sms_contract.money`, which is pure (no DRF, no
Django) so the rules modules that use it stay free of the web stack."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sms_contract.money import YuanParseError, format_fen, parse_yuan


@extend_schema_field({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "example": "144000.00"})
class FenAsYuanField(serializers.Field):
    """A serializer field for an integer-fen attribute, shown as a yuan string with two decimals."""

    def to_representation(self, value: int) -> str:
        return format_fen(value)

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, str) and "," in data:  # the API takes plain decimals; separators are for people
            raise serializers.ValidationError('Enter an amount in yuan, e.g. "1234.56".')
        try:
            return parse_yuan(data)
        except YuanParseError as exc:
            raise serializers.ValidationError(str(exc)) from exc
