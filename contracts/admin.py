from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from contracts.models import Contract, DeadlineReminder, FormalNotice, Party
from contracts.selectors import contract_lifecycle
from contracts.services import deadline_reminder_deliver, formal_notice_create, formal_notice_update
from sms_contract.money import format_fen_grouped


def _date_or(value, empty: str = "-") -> str:
    return value.isoformat() if value else empty


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
        "activated_on",
        "renewal_deadline_display",
        "unit_price",
        "total_amount_display",
        "prepayment_display",
        "bond_display",
    ]
    search_fields = ["number", "name"]
    list_select_related = ["purchaser", "supplier"]
    readonly_fields = [
        "total_amount_display",
        "prepayment_display",
        "bond_display",
        "created_at",
        "current_term_display",
        "renewal_deadline_display",
        "service_end_display",
        "earliest_stop_display",
        "confidentiality_end_display",
    ]
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
            _("服务期计算（只读，按已送达的正式通知）"),
            {
                "fields": [
                    "current_term_display",
                    "renewal_deadline_display",
                    "service_end_display",
                    "earliest_stop_display",
                    "confidentiality_end_display",
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

    def _lifecycle(self, obj: Contract):
        if not obj.pk:
            return None
        cache = getattr(obj, "_lifecycle_cache", None)
        if cache is None:
            cache = contract_lifecycle(obj, today=timezone.localdate())
            setattr(obj, "_lifecycle_cache", cache)  # noqa: B010 - one computation per row and page
        return cache

    @admin.display(description=_("当前服务期（12.1）"))
    def current_term_display(self, obj: Contract) -> str:
        lc = self._lifecycle(obj)
        if lc is None or lc.current_term is None:
            return str(_("尚未开通"))
        t = lc.current_term
        label = _("首个服务期") if t.index == 0 else _("第 %(n)d 次续展") % {"n": t.index}
        return f"{label}：{t.start.isoformat()} 至 {t.end.isoformat()}"

    @admin.display(description=_("续展决定截止日（12.2，届满前90日）"))
    def renewal_deadline_display(self, obj: Contract) -> str:
        lc = self._lifecycle(obj)
        if lc is None or lc.renewal_deadline is None:
            return "-"
        if not lc.renews:
            return f"{lc.renewal_deadline.isoformat()}（已不续展）"
        return f"{lc.renewal_deadline.isoformat()}（剩 {lc.days_to_renewal_deadline} 天）"

    @admin.display(description=_("服务终止日"))
    def service_end_display(self, obj: Contract) -> str:
        lc = self._lifecycle(obj)
        if lc is None or lc.current_term is None:
            return "-"
        if lc.service_end is None:
            return f"自动续展（当前服务期至 {lc.current_term.end.isoformat()}）"
        return lc.service_end.isoformat()

    @admin.display(description=_("最早停止服务日（4.5，书面告知后90日）"))
    def earliest_stop_display(self, obj: Contract) -> str:
        lc = self._lifecycle(obj)
        return _date_or(lc.earliest_stop if lc else None, str(_("未发出停止服务通知")))

    @admin.display(description=_("保密义务截止日（7.2）"))
    def confidentiality_end_display(self, obj: Contract) -> str:
        lc = self._lifecycle(obj)
        return _date_or(lc.confidentiality_end if lc else None, str(_("服务终止后 2 年")))


@admin.register(FormalNotice)
class FormalNoticeAdmin(SimpleHistoryAdmin):
    list_display = [
        "sent_at",
        "contract",
        "sender",
        "kind",
        "method",
        "subject",
        "delivered_at_display",
        "failed_by_recipient",
        "ends_service",
    ]
    list_filter = ["kind", "method", "failed_by_recipient", "ends_service"]
    search_fields = ["subject", "tracking_number", "summary"]
    list_select_related = ["contract", "sender"]
    date_hierarchy = "sent_at"
    readonly_fields = ["delivered_at_display", "created_by", "created_at"]
    fields = [
        "contract",
        "sender",
        "kind",
        "method",
        "subject",
        "summary",
        "ends_service",
        "tracking_number",
        "sent_at",
        "received_at",
        "failed_by_recipient",
        "delivered_at_display",
        "note",
        "created_by",
        "created_at",
    ]

    @admin.display(description=_("送达时间（13.8.2）"))
    def delivered_at_display(self, obj: FormalNotice) -> str:
        if not obj.pk:
            return "-"
        delivered = obj.delivered_at
        if delivered is None:
            return str(_("尚未送达"))
        return timezone.localtime(delivered).strftime("%Y-%m-%d %H:%M")

    def save_model(self, request, obj, form, change):
        """Through the services (the form already ran the same model checks, shown as form errors)."""
        data = form.cleaned_data
        if change:
            formal_notice_update(notice=obj, **{name: data[name] for name in form.changed_data if name in data})
        else:
            fields = {name: value for name, value in data.items() if name != "contract"}
            obj.pk = formal_notice_create(contract=data["contract"], created_by=request.user, **fields).pk
        obj.refresh_from_db()


@admin.register(DeadlineReminder)
class DeadlineReminderAdmin(admin.ModelAdmin):
    """Reminders and whether they arrived: 发送失败 rows say why (no recipient, the mail server refused) and are
    retried by the daily run; 立即重发 tries the selected ones now."""

    list_display = [
        "created_at",
        "contract",
        "kind",
        "deadline",
        "days_before",
        "status",
        "sent_at",
        "attempts",
        "last_error",
    ]
    list_display_links = ["created_at", "contract"]
    list_filter = ["status", "kind"]
    readonly_fields = [
        "contract",
        "kind",
        "deadline",
        "days_before",
        "message",
        "status",
        "recipients",
        "created_at",
        "attempts",
        "last_attempt_at",
        "last_error",
        "sent_at",
    ]
    actions = ["resend_now"]

    @admin.action(description="立即重发所选提醒", permissions=["view"])
    def resend_now(self, request, queryset):
        rows = list(queryset.exclude(status=DeadlineReminder.Status.SENT))
        today = timezone.localdate()
        done = sum(deadline_reminder_deliver(reminder_id=r.pk, today=today) for r in rows)
        level = messages.SUCCESS if done == len(rows) else messages.WARNING
        self.message_user(request, f"已发送 {done} 条，{len(rows) - done} 条仍未送出（见失败原因）。", level)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
