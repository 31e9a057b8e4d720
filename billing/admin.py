"""Billing in the admin (Chinese): calendar, imports, carrier bills with reconciliation, statements with
approve/issue actions, invoices, payments with an allocation preview, prepayment and bond.
Writes go through the services; the admin only collects input and shows results."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from billing.models import (
    BillingUpload,
    CalendarDay,
    CalendarYear,
    CarrierBill,
    CreditOffset,
    ImportedDailyUnits,
    Invoice,
    Payment,
    PaymentAllocation,
    PerformanceBond,
    Prepayment,
    Statement,
    SuccessCountImport,
)
from billing.selectors import bond_refund_due_on, reconciliation_for_bill
from billing.services.payments import (
    bond_check,
    bond_record,
    confirmed_amount,
    invoice_check,
    invoice_record,
    invoice_update,
    payment_enter,
    prepayment_check,
    prepayment_record,
)
from billing.services.statements import (
    statement_adjustment_create,
    statement_approve,
    statement_close_month,
    statement_issue,
)
from billing.services.uploads import billing_file_accept, billing_upload_status, check_request_size
from contracts.models import Contract
from sms_contract.admin_display import fen_field, flag, readable_fields
from sms_contract.admin_forms import ServiceModelForm
from sms_contract.exceptions import ApplicationError
from sms_contract.form_fields import YuanField
from sms_contract.money import format_fen_grouped


def yuan(fen: int | None) -> str:
    return "" if fen is None else format_fen_grouped(fen)


def report_error(request, exc: ApplicationError) -> None:
    messages.error(request, exc.detail)
    for e in exc.extra.get("errors", [])[:20]:
        messages.error(request, f"第 {e['row']} 行，列 {e['column']}：{e['message']}")


@admin.register(CalendarYear)
class CalendarYearAdmin(SimpleHistoryAdmin):
    list_display = ["year", "source", "note"]


@admin.register(CalendarDay)
class CalendarDayAdmin(SimpleHistoryAdmin):
    list_display = ["date", "kind", "is_working", "name"]
    list_filter = ["kind", "is_working"]
    date_hierarchy = "date"
    search_fields = ["name"]
    ordering = ["date"]


class UploadForm(forms.Form):
    contract = forms.ModelChoiceField(Contract.objects.all(), label=_("合同"))
    file = forms.FileField(label=_("文件（CSV 或 XLSX）"))


class CarrierBillUploadForm(UploadForm):
    period = forms.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", label=_("账期（YYYY-MM）"))


class UploadAdminMixin:
    """An extra "upload/" page on a model admin that calls one service with the uploaded file."""

    upload_form = UploadForm
    upload_title = ""

    upload_kind = ""

    def get_urls(self):
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}_upload"
        extra = [path("upload/", self.admin_site.admin_view(self.upload_view), name=name)]
        return extra + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        """These objects only come from a file: "add" is the upload page (the model form has nothing to fill)."""
        opts = self.model._meta
        return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_upload"))

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:  # before the body is read
            check_request_size(request.META.get("CONTENT_LENGTH"))
        except ApplicationError as exc:
            report_error(request, exc)
            return redirect(request.path)
        form = self.upload_form(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                obj = self.handle_upload(request, form.cleaned_data)
            except ApplicationError as exc:
                report_error(request, exc)
            else:
                if isinstance(obj, BillingUpload):  # large: a worker reads it; its page shows the progress
                    messages.success(request, f"文件已接收，正在后台处理：{obj.filename}")
                    return redirect(reverse("admin:billing_billingupload_change", args=[obj.pk]))
                messages.success(request, f"已导入：{obj}")
                opts = self.model._meta
                return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": self.upload_title,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/upload.html", context)


@admin.register(SuccessCountImport)
class SuccessCountImportAdmin(UploadAdminMixin, admin.ModelAdmin):
    upload_title = "导入每日成功条数（列：日期,成功条数 或 date,units）"
    list_display = ["filename", "contract", "rows", "first_day", "last_day", "uploaded_by", "uploaded_at"]
    readonly_fields = list_display
    change_list_template = "billing/admin/upload_change_list.html"

    def handle_upload(self, request, data):
        upload = data["file"]
        return billing_file_accept(
            kind=BillingUpload.Kind.SUCCESS_COUNTS,
            contract=data["contract"],
            file=upload,
            filename=upload.name,
            uploaded_by=request.user,
        )

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BillingUpload)
class BillingUploadAdmin(admin.ModelAdmin):
    """Large files read by a worker: state, rows read so far (the page refreshes itself while running), errors."""

    list_display = ["filename", "kind", "contract", "state", "size", "uploaded_by", "created_at", "finished_at"]
    list_filter = ["state", "kind"]
    fields = [
        "filename",
        "kind",
        "contract",
        "year",
        "month",
        "size",
        "uploaded_by",
        "created_at",
        "started_at",
        "finished_at",
        "state",
        "progress",
        "error_code",
        "error_detail",
        "error_rows",
        "result",
    ]
    readonly_fields = fields
    change_form_template = "billing/admin/billingupload_change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("已读行数"))
    def progress(self, obj):
        return billing_upload_status(obj)["rows_read"]

    @admin.display(description=_("出错的行"))
    def error_rows(self, obj):
        return format_html_join(
            "", "<div>第 {} 行，列 {}：{}</div>", ((e["row"], e["column"], e["message"]) for e in obj.errors[:100])
        )

    @admin.display(description=_("结果"))
    def result(self, obj):
        if obj.carrier_bill_id:
            url = reverse("admin:billing_carrierbill_change", args=[obj.carrier_bill_id])
            return format_html('<a href="{}">{}</a>', url, obj.carrier_bill)
        if obj.success_import_id:
            url = reverse("admin:billing_successcountimport_change", args=[obj.success_import_id])
            return format_html('<a href="{}">{}</a>', url, obj.success_import)
        return ""


@admin.register(ImportedDailyUnits)
class ImportedDailyUnitsAdmin(SimpleHistoryAdmin):
    list_display = ["contract", "day", "units", "source"]
    list_filter = ["contract"]
    date_hierarchy = "day"
    readonly_fields = ["contract", "day", "units", "source"]

    def has_add_permission(self, request):
        return False


@admin.register(CarrierBill)
class CarrierBillAdmin(UploadAdminMixin, SimpleHistoryAdmin):
    upload_form = CarrierBillUploadForm
    upload_title = "上传运营商月度账单（按日汇总或逐条明细）"
    change_list_template = "billing/admin/upload_change_list.html"
    list_display = ["contract", "period", "kind", "total_units", "late", "due_on", "uploaded_at", "uploaded_by"]
    list_filter = ["is_late", "kind", "contract"]
    fields = [
        "contract",
        "period",
        "kind",
        "filename",
        "uploaded_by",
        "uploaded_at",
        "due_on",
        "late",
        "total_units",
        "record_count",
        "reconciliation",
    ]
    readonly_fields = fields

    @flag(_("是否按时提供"), true_text="逾期提供", false_text="按时提供", warn_when=True, ordering="is_late")
    def late(self, obj):
        return obj.is_late

    def handle_upload(self, request, data):
        upload = data["file"]
        year, month = (int(p) for p in data["period"].split("-"))
        return billing_file_accept(
            kind=BillingUpload.Kind.CARRIER_BILL,
            contract=data["contract"],
            period=(year, month),
            uploaded_by=request.user,
            file=upload,
            filename=upload.name,
        )

    @admin.display(description=_("账期"))
    def period(self, obj):
        return obj.period

    @admin.display(description=_("对账（我方数据为准）"))
    def reconciliation(self, obj):
        rec = reconciliation_for_bill(obj)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r.day, r.ours, r.theirs, r.difference, "" if r.percent is None else f"{r.percent}%") for r in rec.rows),
        )
        return format_html(
            "<table><tr><th>日期</th><th>我方</th><th>对方</th><th>差额</th><th>差异率</th></tr>{}"
            "<tr><th>合计</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></table>"
            "<p>对方账单有而我方无记录：{} 条 {}；我方有而对方账单缺少：{} 条 {}</p>",
            rows,
            rec.ours_total,
            rec.theirs_total,
            rec.difference_total,
            "" if rec.percent_total is None else f"{rec.percent_total}%",
            rec.missing_ours_count,
            ", ".join(str(v) for v in rec.missing_ours_sample),
            rec.missing_theirs_count,
            ", ".join(str(v) for v in rec.missing_theirs_sample),
        )

    def has_change_permission(self, request, obj=None):
        return False


class CreditOffsetInline(admin.TabularInline):
    model = CreditOffset
    fk_name = "statement"
    verbose_name = _("收到的贷项抵减")
    verbose_name_plural = _("收到的贷项抵减")
    extra = 0
    can_delete = False
    readonly_fields = ["credit", fen_field("amount_fen", _("抵减金额")), "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


def _part_name(code: str) -> str:
    """An Annex 3 part's name for its code (every contract's scheme; the codes are shared)."""
    for parts in Contract.objects.values_list("assessment_parts", flat=True):
        for part in parts or []:
            if part.get("code") == code:
                return part.get("name", code)
    return code


@admin.register(Statement)
class StatementAdmin(SimpleHistoryAdmin):
    list_display = [
        "number",
        "contract",
        "period",
        "kind",
        "state",
        "units",
        "ratio",
        "net_due",
        "outstanding",
        "due_on",
        "pdf",
    ]
    list_filter = ["state", "kind", "contract", "year"]
    search_fields = ["number"]
    actions = ["recompute", "approve", "issue", "adjust"]
    inlines = [CreditOffsetInline]
    readonly_fields = [
        *readable_fields(
            Statement,
            exclude=("pdf_file",),
            json_options={
                "assessment_scores": {"headers": ("考核项目", "得分"), "key_label": _part_name},
                "daily_units": {"headers": ("日期", "成功条数")},
            },
        ),
        "pdf",
    ]
    fields = readonly_fields  # view-only: only these, so amounts show in yuan and JSON as tables

    @admin.display(description=_("账期"))
    def period(self, obj):
        return obj.period

    @admin.display(description=_("付款比例"))
    def ratio(self, obj):
        return "未考核" if obj.payment_ratio is None else f"{int(obj.payment_ratio * 100)}%"

    @admin.display(description=_("本期应付（元）"))
    def net_due(self, obj):
        return yuan(obj.net_due_fen)

    @admin.display(description=_("未付（元）"))
    def outstanding(self, obj):
        return yuan(obj.outstanding_fen)

    @admin.display(description=_("PDF"))
    def pdf(self, obj):
        url = reverse("statement-pdf", kwargs={"contract_number": obj.contract.number, "period": obj.period})
        return format_html('<a href="{}" target="_blank">结算单 PDF</a>', url)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, action, done: str):
        for statement in queryset:
            try:
                action(statement)
            except ApplicationError as exc:
                messages.error(request, f"{statement.number}：{exc.detail}")
            else:
                messages.success(request, f"{statement.number}：{done}")

    @admin.action(description=_("重新生成草稿（按当前条数与考核）"), permissions=["recompute"])
    def recompute(self, request, queryset):
        self._each(
            request,
            queryset.filter(kind=Statement.Kind.MONTHLY),
            lambda s: statement_close_month(contract=s.contract, year=s.year, month=s.month),
            "已重新计算",
        )

    @admin.action(description=_("审核（甲方）"), permissions=["approve"])
    def approve(self, request, queryset):
        self._each(request, queryset, lambda s: statement_approve(statement=s, user=request.user), "已审核")

    @admin.action(description=_("开具（财务）"), permissions=["issue"])
    def issue(self, request, queryset):
        self._each(request, queryset, lambda s: statement_issue(statement=s, user=request.user), "已开具")

    @admin.action(description=_("生成调整结算单"), permissions=["issue"])
    def adjust(self, request, queryset):
        reason = f"{timezone.localdate()} 由 {request.user} 重新核算"
        self._each(
            request, queryset, lambda s: statement_adjustment_create(statement=s, reason=reason), "已生成调整结算单"
        )

    def has_recompute_permission(self, request):
        return request.user.has_perm("billing.approve_statement") or request.user.has_perm("billing.issue_statement")

    def has_approve_permission(self, request):
        return request.user.has_perm("billing.approve_statement")

    def has_issue_permission(self, request):
        return request.user.has_perm("billing.issue_statement")


class InvoiceForm(ServiceModelForm):
    amount = YuanField(label=_("金额（元）"))

    class Meta:
        model = Invoice
        fields = ["contract", "statement", "number", "amount", "issued_on", "received_on"]

    def service_check(self, data: dict) -> None:
        invoice = self.instance if self.instance.pk else None
        invoice_check(
            contract=invoice.contract if invoice else data["contract"],
            number=invoice.number if invoice else data["number"],
            amount_fen=data["amount"],
            issued_on=invoice.issued_on if invoice else data["issued_on"],
            received_on=data.get("received_on"),
            statement=invoice.statement if invoice else data.get("statement"),
            invoice=invoice,
        )


@admin.register(Invoice)
class InvoiceAdmin(SimpleHistoryAdmin):
    form = InvoiceForm
    list_display = ["number", "contract", "statement", "amount", "issued_on", "received_on"]
    search_fields = ["number"]

    @admin.display(description=_("金额（元）"))
    def amount(self, obj):
        return yuan(obj.amount_fen)

    def get_readonly_fields(self, request, obj=None):
        return ["contract", "statement", "number", "issued_on"] if obj else []

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            form.base_fields["amount"].initial = obj.amount_fen  # fen; the field shows it as yuan
        return form

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            invoice_update(invoice=obj, amount_fen=data["amount"], received_on=data.get("received_on"))
            return
        created = invoice_record(
            contract=data["contract"],
            number=data["number"],
            amount_fen=data["amount"],
            issued_on=data["issued_on"],
            statement=data.get("statement"),
            received_on=data.get("received_on"),
        )
        obj.pk = created.pk


class PaymentForm(forms.Form):
    contract = forms.ModelChoiceField(Contract.objects.all(), label=_("合同"))
    paid_on = forms.DateField(label=_("付款日期"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = YuanField(label=_("金额（元）"))
    reference = forms.CharField(label=_("付款凭证号"), max_length=100)


class PaymentAllocationInline(admin.TabularInline):
    model = PaymentAllocation
    extra = 0
    can_delete = False
    readonly_fields = ["statement", fen_field("amount_fen", _("抵充金额")), "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(SimpleHistoryAdmin):
    list_display = ["paid_on", "contract", "reference", "amount", "unallocated", "recorded_by"]
    readonly_fields = ["contract", "paid_on", "amount", "reference", "unallocated", "recorded_by"]
    inlines = [PaymentAllocationInline]

    @admin.display(description=_("金额（元）"))
    def amount(self, obj):
        return yuan(obj.amount_fen)

    @admin.display(description=_("未分配（元）"))
    def unallocated(self, obj):
        return yuan(obj.unallocated_fen)

    def has_change_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """Two steps: the form, then the allocation (oldest due first) shown for confirmation."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PaymentForm(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                entry = payment_enter(
                    contract=data["contract"],
                    paid_on=data["paid_on"],
                    amount_fen=data["amount"],
                    reference=data["reference"],
                    recorded_by=request.user,
                    confirmed_fen=confirmed_amount(request.POST.get("action"), request.POST.get("previewed")),
                )
            except ApplicationError as exc:
                report_error(request, exc)
            else:
                if entry.payment is not None:
                    messages.success(request, f"已登记付款 {yuan(entry.payment.amount_fen)} 元。")
                    return redirect(reverse("admin:billing_payment_change", args=[entry.payment.pk]))
                preview = entry.preview
        context = {
            **self.admin_site.each_context(request),
            "title": "登记付款（按欠费先后自动抵充，合同 5.5）",
            "form": form,
            "opts": self.model._meta,
            "preview": preview,
            "preview_lines": [(s, yuan(fen)) for s, fen in preview.lines] if preview else [],
            "preview_unallocated": yuan(preview.unallocated_fen) if preview else "",
            "amount_fen": form.cleaned_data.get("amount") if preview else None,
        }
        return TemplateResponse(request, "billing/admin/payment_record.html", context)


class PrepaymentForm(ServiceModelForm):
    class Meta:
        model = Prepayment
        fields = ["contract", "paid_on", "invoice"]

    def service_check(self, data: dict) -> None:
        prepayment_check(contract=data["contract"], invoice=data.get("invoice"))


class PerformanceBondForm(ServiceModelForm):
    class Meta:
        model = PerformanceBond
        fields = ["contract", "form", "issuer", "reference", "received_on", "refunded_on"]

    def service_check(self, data: dict) -> None:
        bond_check(form=data["form"], received_on=data.get("received_on"), refunded_on=data.get("refunded_on"))


class AmountFromContractMixin:
    """Prepayment and bond amounts come from the contract's figures (10% of the total): the services set them."""

    @admin.display(description=_("金额（元）"))
    def amount(self, obj):
        return yuan(obj.amount_fen)


@admin.register(Prepayment)
class PrepaymentAdmin(AmountFromContractMixin, SimpleHistoryAdmin):
    form = PrepaymentForm
    list_display = ["contract", "amount", "paid_on", "invoice"]
    fields = ["contract", "amount", "paid_on", "invoice"]
    readonly_fields = ["amount"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        obj.pk = prepayment_record(
            contract=data["contract"], paid_on=data.get("paid_on"), invoice=data.get("invoice")
        ).pk


@admin.register(PerformanceBond)
class PerformanceBondAdmin(AmountFromContractMixin, SimpleHistoryAdmin):
    form = PerformanceBondForm
    list_display = [
        "contract",
        "amount",
        "form",
        "received_on",
        "accepted_on",
        "refund_due_on",
        "refunded_on",
        "reminder_sent_on",
        "reminder_error",
    ]
    fields = [
        "contract",
        "amount",
        "form",
        "issuer",
        "reference",
        "received_on",
        "accepted_on",
        "refund_due_on",
        "refunded_on",
        "reminder_sent_on",
        "reminder_error",
    ]
    readonly_fields = ["amount", "accepted_on", "refund_due_on", "reminder_sent_on", "reminder_error"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        obj.pk = bond_record(
            contract=data["contract"],
            form=data["form"],
            received_on=data.get("received_on"),
            issuer=data.get("issuer", ""),
            reference=data.get("reference", ""),
            refunded_on=data.get("refunded_on"),
        ).pk

    @admin.display(description=_("验收合格日期"))
    def accepted_on(self, obj):
        return (obj.contract.accepted_on if obj.pk else None) or "—"  # a callable's None would show as "None"

    @admin.display(description=_("应退还日期"))
    def refund_due_on(self, obj):
        return (bond_refund_due_on(contract=obj.contract) if obj.pk else None) or "—（验收合格后计算）"
