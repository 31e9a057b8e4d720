from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import Contract, Party
from sms_contract.money import format_fen, format_rate, format_unit_price


class PartyOutputSerializer(serializers.ModelSerializer):
    # An e-mail address or "" (the field may be blank): the schema must not promise `format: email`.
    email = serializers.CharField(read_only=True, help_text="E-mail address, or empty.")

    class Meta:
        model = Party
        fields = ["name", "kind", "address", "contact", "phone", "fax", "postcode", "email"]


class ContractOutputSerializer(serializers.ModelSerializer):
    purchaser = PartyOutputSerializer()
    supplier = PartyOutputSerializer()
    unit_price = serializers.SerializerMethodField()
    total_amount = serializers.SerializerMethodField()
    prepayment_rate = serializers.SerializerMethodField()
    prepayment_amount = serializers.SerializerMethodField()
    bond_rate = serializers.SerializerMethodField()
    bond_amount = serializers.SerializerMethodField()

    class Meta:
        model = Contract
        fields = [
            "number",
            "name",
            "purchaser",
            "supplier",
            "signed_on",
            "activated_on",
            "unit_price",
            "total_amount",
            "payment_method",
            "prepayment_rate",
            "prepayment_amount",
            "bond_rate",
            "bond_amount",
            "billing_unit_chars",
            "bill_due_day",
            "success_basis",
            "service_months",
            "auto_renew",
            "renewal_notice_days",
            "termination_notice_days",
            "confidentiality_years",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_unit_price(self, obj: Contract) -> str:
        return format_unit_price(obj.unit_price)

    @extend_schema_field(OpenApiTypes.STR)
    def get_total_amount(self, obj: Contract) -> str:
        return format_fen(obj.total_amount_fen)

    @extend_schema_field(OpenApiTypes.STR)
    def get_prepayment_rate(self, obj: Contract) -> str:
        return format_rate(obj.prepayment_rate)

    @extend_schema_field(OpenApiTypes.STR)
    def get_prepayment_amount(self, obj: Contract) -> str:
        return format_fen(obj.prepayment_fen)

    @extend_schema_field(OpenApiTypes.STR)
    def get_bond_rate(self, obj: Contract) -> str:
        return format_rate(obj.bond_rate)

    @extend_schema_field(OpenApiTypes.STR)
    def get_bond_amount(self, obj: Contract) -> str:
        return format_fen(obj.bond_fen)
