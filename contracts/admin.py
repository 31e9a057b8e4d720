from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from contracts.models import Contract, Party
from sms_contract.money import format_fen_grouped


@admin.register(Party)
class PartyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "contact", "address"]
    list_filter = ["kind"]
    search_fields = ["name", "contact"]
    filter_horizontal = ["members"]


@admin.register(Contract)
class ContractAdmin(SimpleHistoryAdmin):
    list_display = [
        "number",
        "name",
        "supplier",
        "signed_on",
        "unit_price",
        "total_amount_display",
        "prepayment_display",
        "bond_display",
    ]
    search_fields = ["number", "name"]
    list_select_related = ["purchaser", "supplier"]
    readonly_fields = ["total_amount_display", "prepayment_display", "bond_display", "created_at"]
    fieldsets = [
        (
            _("项目"),
            {
                "fields": [
                    "number",
                    "name",
                    "purchaser",
                    "supplier",
                    "signed_on",
                    "activated_on",
                    "accepted_on",
                ]
            },
        ),
        (
            _("费用与支付（第五条）"),
            {
                "fields": [
                    "unit_price",
                    "total_amount_fen",
                    "total_amount_display",
                    "payment_method",
                    "prepayment_rate",
                    "prepayment_display",
                    "prepayment_due_days",
                    "bond_rate",
                    "bond_display",
                    "bond_refund_months",
                    "billing_unit_chars",
                    "bill_due_day",
                    "late_fee_daily_rate",
                    "success_basis",
                ]
            },
        ),
        (
            _("服务期与通知（第十二条、4.5、7.2）"),
            {
                "fields": [
                    "service_months",
                    "auto_renew",
                    "renewal_notice_days",
                    "termination_notice_days",
                    "confidentiality_years",
                    "terminated_on",
                ]
            },
        ),
        (
            _("考核细则（附件3）"),
            {"classes": ["collapse"], "fields": ["assessment_parts", "payment_ratio_bands"]},
        ),
    ]

    @admin.display(description=_("合同总金额（元）"))
    def total_amount_display(self, obj: Contract) -> str:
        return format_fen_grouped(obj.total_amount_fen) if obj.total_amount_fen else "-"

    @admin.display(description=_("预付款（元）"))
    def prepayment_display(self, obj: Contract) -> str:
        return format_fen_grouped(obj.prepayment_fen) if obj.total_amount_fen else "-"

    @admin.display(description=_("履约保证金（元）"))
    def bond_display(self, obj: Contract) -> str:
        return format_fen_grouped(obj.bond_fen) if obj.total_amount_fen else "-"
