from rest_framework import serializers

from billing.selectors import reconciliation_for_bill
from sms_contract.api_fields import FenAsYuanField
from sms_contract.money import format_rate, format_unit_price


class StatementOutputSerializer(serializers.Serializer):
    """Amounts are yuan strings with two decimals; figures that depend on the payment ratio are null
    while the month's assessment is unknown."""

    number = serializers.CharField()
    contract = serializers.CharField(source="contract.number")
    period = serializers.CharField()
    kind = serializers.CharField()
    state = serializers.CharField()
    units = serializers.IntegerField()
    unit_price = serializers.SerializerMethodField()
    gross_amount = FenAsYuanField(source="gross_fen")
    assessment_total = serializers.IntegerField(allow_null=True)
    assessment_scores = serializers.DictField(child=serializers.IntegerField())
    payment_ratio = serializers.SerializerMethodField()
    payable_amount = serializers.SerializerMethodField()
    held_amount = FenAsYuanField(source="held_fen")
    prepayment_applied = FenAsYuanField(source="prepayment_applied_fen")
    prepayment_balance = FenAsYuanField(source="prepayment_balance_fen")
    net_due = FenAsYuanField(source="net_due_fen")
    paid_amount = FenAsYuanField(source="paid_fen")
    cumulative_payable = FenAsYuanField(source="cumulative_payable_fen")
    contract_remaining = FenAsYuanField(source="contract_remaining_fen")
    due_date = serializers.DateField(source="due_on")
    pdf_sha256 = serializers.CharField(
        allow_blank=True, help_text="SHA-256 of the PDF stored when the statement was issued; empty before that."
    )

    def get_unit_price(self, obj) -> str:
        return format_unit_price(obj.unit_price)

    def get_payment_ratio(self, obj) -> str | None:
        return format_rate(obj.payment_ratio) if obj.payment_ratio is not None else None

    def get_payable_amount(self, obj) -> str | None:
        return FenAsYuanField().to_representation(obj.payable_fen) if obj.payment_ratio is not None else None


class ReconciliationRowSerializer(serializers.Serializer):
    day = serializers.DateField()
    ours = serializers.IntegerField()
    theirs = serializers.IntegerField()
    difference = serializers.IntegerField()
    percent = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class ReconciliationSerializer(serializers.Serializer):
    rows = ReconciliationRowSerializer(many=True)
    ours_total = serializers.IntegerField()
    theirs_total = serializers.IntegerField()
    difference_total = serializers.IntegerField()
    percent_total = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    missing_ours_count = serializers.IntegerField(help_text="Msg_Ids on the carrier's bill that we have no record of")
    missing_theirs_count = serializers.IntegerField(help_text="our Msg_Ids missing from the carrier's bill")
    missing_ours_sample = serializers.ListField(child=serializers.CharField())
    missing_theirs_sample = serializers.ListField(child=serializers.CharField())


class CarrierBillOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    contract = serializers.CharField(source="contract.number")
    period = serializers.CharField()
    kind = serializers.CharField()
    filename = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    due_on = serializers.DateField()
    is_late = serializers.BooleanField()
    total_units = serializers.IntegerField()
    record_count = serializers.IntegerField()
    reconciliation = serializers.SerializerMethodField()

    def get_reconciliation(self, obj) -> dict:
        return ReconciliationSerializer(reconciliation_for_bill(obj)).data


class BillingUploadOutputSerializer(serializers.Serializer):
    """A bill file read by a worker (202 answer of the upload, and GET billing-uploads/<id>/)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["carrier_bill", "success_counts"])
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    state_display = serializers.CharField()
    filename = serializers.CharField()
    size = serializers.IntegerField()
    rows_read = serializers.IntegerField(help_text="rows read so far (updated every 20,000 rows while running)")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    carrier_bill = serializers.IntegerField(allow_null=True, help_text="the bill, once done")
    success_import = serializers.IntegerField(allow_null=True)
    result_url = serializers.CharField()
    code = serializers.CharField(help_text="error code when failed (bad_file, too_many_rows, xlsx_refused, ...)")
    detail = serializers.CharField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="row, column, message")
    error_count = serializers.IntegerField()
    url = serializers.CharField()
