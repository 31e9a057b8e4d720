"""Shapes of the assessment API. The part codes come from the contract's Annex 3 data."""

from rest_framework import serializers

from assessment.models import Assessment
from contracts.scheme import Part, band_for_score
from sms_contract.money import format_rate


class AssessmentInputSerializer(serializers.Serializer):
    """The four part scores are read by their codes (e.g. `sending`) beside these fields and checked
    by the service against the contract's scheme (whole numbers within each part's range)."""

    remarks = serializers.CharField(required=False, allow_blank=True, default="")
    reasons = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    change_reason = serializers.CharField(required=False, allow_blank=True, default="")


class AssessmentOutputSerializer(serializers.Serializer):
    contract = serializers.CharField(source="contract.number")
    period = serializers.CharField()
    state = serializers.CharField()
    version = serializers.IntegerField()
    scores = serializers.DictField(child=serializers.IntegerField())
    reasons = serializers.DictField(child=serializers.CharField())
    remarks = serializers.CharField()
    total = serializers.IntegerField()
    payment_ratio = serializers.SerializerMethodField()
    bands = serializers.SerializerMethodField()
    suggestions = serializers.JSONField()
    overridden = serializers.ListField(child=serializers.CharField())
    change_reason = serializers.CharField()
    signed_by = serializers.CharField(source="signed_by.get_username", default=None)
    signed_at = serializers.DateTimeField()
    locked_at = serializers.DateTimeField()

    def __init__(self, *args, parts: tuple[Part, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.parts = parts

    def get_payment_ratio(self, obj: Assessment) -> str:
        return format_rate(obj.payment_ratio)

    def get_bands(self, obj: Assessment) -> dict[str, str]:
        return {p.code: band_for_score(p, obj.scores[p.code]) for p in self.parts if p.code in obj.scores}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        flat = {p.code: instance.scores.get(p.code) for p in self.parts}
        return {**flat, **data}
