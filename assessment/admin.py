"""Admin (Chinese, declarative): monthly assessments, fault tickets, complaints and SLA breach notices.

Writes go through the services: the assessment form is checked by `assessment_prepare` and saved by
`assessment_record`; a locked assessment is view-only; tickets and complaints are saved by their services
(checked first in the form, so a refusal is a form error), which also run the SLA check.
Unread breach notices show as a warning on the ticket and complaint lists (and under 超时提醒).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from assessment import selectors, services
from assessment.models import Assessment, AssessmentVersion, Complaint, FaultTicket, SlaBreach
from assessment.rules import BAND_LABELS, ClockState
from contracts.models import Contract
from contracts.scheme import band_for_score
from contracts.selectors import contract_terms
from sms_contract.admin_forms import ServiceModelForm
from sms_contract.exceptions import ApplicationError
from sms_contract.masking import display_mobile, mask_mobile
from sms_contract.money import format_rate

CLOCK_COLOURS = {ClockState.RUNNING: "#1f5fa8", ClockState.MET: "#1b7f3b", ClockState.BREACHED: "#b00020"}

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a label, maybe translated lazily


def clock_badges(views: list[selectors.ClockView]):
    if not views:
        return "—"
    return format_html_join(
        " ",
        '<span style="color:#fff;background:{};padding:1px 6px;border-radius:3px;white-space:nowrap" '
        'title="截止 {}">{}：{}</span>',
        (
            (CLOCK_COLOURS[v.state], timezone.localtime(v.deadline).strftime("%m-%d %H:%M"), v.label, v.state_label)
            for v in views
        ),
    )


def _unread_breach_warning(request) -> None:
    unread = selectors.sla_breach_list_unread().count()
    if unread:
        url = reverse("admin:assessment_slabreach_changelist") + "?acknowledged=null"
        messages.warning(request, format_html('有 {} 条超时提醒未阅，<a href="{}">查看</a>。', unread, url))


# --- monthly assessment --------------------------------------------------------------------------


def _contract_hint(data) -> Contract | None:
    """The contract whose parts the form shows: the one chosen (POST or ?contract=), else the latest."""
    contract_id = data.get("contract") if data else None
    qs = Contract.objects.all()
    return (qs.filter(pk=contract_id).first() if contract_id else None) or qs.order_by("-signed_on").first()


class AssessmentForm(forms.ModelForm):
    """The model's JSON fields are edited as one score and one reason field per part of the contract."""

    change_reason = forms.CharField(
        label=_("修订理由"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("修改已签署的考核时必填：修改会形成新版本，须重新签署。"),
    )  # fmt: skip

    class Meta:
        model = Assessment
        fields = ["contract", "year", "month", "remarks"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        contract = self.instance.contract if self.instance.pk else _contract_hint(self.data or self.initial)
        self.parts = contract_terms(contract).parts if contract else ()
        for part in self.parts:
            self.fields[f"score_{part.code}"] = forms.IntegerField(
                label=f"{part.name}（0-{part.max}）",
                min_value=0,
                max_value=part.max,
                initial=self.instance.scores.get(part.code, part.max),
            )
            self.fields[f"reason_{part.code}"] = forms.CharField(
                label=f"{part.name} 扣分理由",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=self.instance.reasons.get(part.code, ""),
            )

    def clean(self):
        data = super().clean()
        contract = data.get("contract") or (self.instance.contract if self.instance.pk else None)
        year = data.get("year") or self.instance.year
        month = data.get("month") or self.instance.month
        if not (contract and year and month) or any(f"score_{p.code}" in self.errors for p in self.parts):
            return data
        self.scores = {p.code: data.get(f"score_{p.code}") for p in self.parts}
        self.reasons = {p.code: data.get(f"reason_{p.code}", "") for p in self.parts}
        try:
            services.assessment_prepare(
                contract=contract,
                year=year,
                month=month,
                scores=self.scores,
                reasons=self.reasons,
                change_reason=data.get("change_reason", ""),
            )
        except ApplicationError as exc:
            errors = exc.extra.get("errors") or {None: [exc.detail]}
            for key, msgs in errors.items():
                field = key.replace("reasons.", "reason_") if key and key.startswith("reasons.") else key
                field = f"score_{field}" if field in {p.code for p in self.parts} else field
                self.add_error(field if field in self.fields else None, ValidationError(msgs))
        return data


@admin.register(Assessment)
class AssessmentAdmin(SimpleHistoryAdmin):
    form = AssessmentForm
    list_display = ["contract", "period", "state", "total", "ratio_display", "version", "signed_by", "signed_at",
                    "pdf_link"]  # fmt: skip
    list_filter = ["state", "year", "contract"]
    list_select_related = ["contract", "signed_by"]
    search_fields = ["contract__number"]
    ordering = ["-year", "-month"]
    actions = ["sign_selected"]
    readonly_fields = ["sheet_display", "suggestions_display", "evidence_display", "versions_display",
                       "state", "version", "signed_by", "signed_at", "locked_at", "pdf_link"]  # fmt: skip

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            contract = _contract_hint(request.POST or request.GET)
            parts, head = (contract_terms(contract).parts if contract else ()), ["contract", "year", "month"]
        else:
            parts, head = contract_terms(obj.contract).parts, ["contract", "year", "month"]
        if obj is not None and not self.has_change_permission(request, obj):
            editable = ["remarks"]  # view-only (locked, or no change permission): the sheet shows the scores
        else:
            editable = [f"{kind}_{p.code}" for p in parts for kind in ("score", "reason")] + ["remarks"]
            editable += ["change_reason"] if obj is not None else []
        return [
            (_("考核期间"), {"fields": head}),
            (_("得分（附件3）"), {"fields": editable}),
            (
                _("结果"),
                {
                    "fields": [
                        "sheet_display",
                        "suggestions_display",
                        "state",
                        "version",
                        "signed_by",
                        "signed_at",
                        "locked_at",
                        "pdf_link",
                    ]
                },
            ),  # fmt: skip
            (_("本月证据"), {"fields": ["evidence_display"]}),
            (_("已签署版本"), {"fields": ["versions_display"]}),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The per-part fields are added by the form itself; only model fields go to the factory.
        kwargs["fields"] = ["contract", "year", "month", "remarks", "change_reason"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + ["contract", "year", "month"] if obj else fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.state == Assessment.State.LOCKED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.state != Assessment.State.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def has_sign_permission(self, request):
        return request.user.has_perm(services.SIGN_PERMISSION)

    def save_model(self, request, obj, form, change):
        saved = services.assessment_record(
            contract=form.cleaned_data.get("contract") or obj.contract,
            year=obj.year,
            month=obj.month,
            scores=form.scores,
            reasons=form.reasons,
            remarks=form.cleaned_data.get("remarks", ""),
            change_reason=form.cleaned_data.get("change_reason", ""),
            by=request.user,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description=_("签署所选考核"), permissions=["sign"])
    def sign_selected(self, request, queryset):
        for assessment in queryset:
            try:
                services.assessment_sign(assessment=assessment, by=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{assessment}：{exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{assessment} 已签署。", messages.SUCCESS)

    @admin.display(description=_("付款比例"), ordering="payment_ratio")
    def ratio_display(self, obj: Assessment) -> str:
        return format_rate(obj.payment_ratio)

    @admin.display(description=_("考核表 PDF"))
    def pdf_link(self, obj: Assessment):
        if obj.pk is None or obj.state == Assessment.State.DRAFT:
            return "—"
        url = reverse("assessment-pdf", kwargs={"contract_number": obj.contract.number, "period": obj.period})
        return format_html('<a href="{}" target="_blank">下载</a>', url)

    @admin.display(description=_("档次、总分与付款比例"))
    def sheet_display(self, obj: Assessment):
        if obj.pk is None:
            return "—"
        parts = contract_terms(obj.contract).parts
        rows = [
            (
                p.name,
                p.max,
                obj.scores[p.code],
                BAND_LABELS[band_for_score(p, obj.scores[p.code])],
                obj.reasons.get(p.code),
            )
            for p in parts
            if p.code in obj.scores
        ]
        return render_to_string(
            "assessment/admin_sheet.html",
            {"rows": rows, "total": obj.total, "ratio": format_rate(obj.payment_ratio)},
        )

    @admin.display(description=_("系统建议分"))
    def suggestions_display(self, obj: Assessment):
        if obj.pk is None:
            return "保存后根据本月故障单和投诉给出建议。"
        names = {p.code: p.name for p in contract_terms(obj.contract).parts}
        return format_html_join(
            "",
            "<p><strong>{}</strong>：建议 {} 分{}。{}</p>",
            (
                (names.get(code, code), s["score"], "（未采纳）" if code in obj.overridden else "（采纳）", s["basis"])
                for code, s in obj.suggestions.items()
            ),
        )

    @admin.display(description=_("本月证据"))
    def evidence_display(self, obj: Assessment):
        if obj.pk is None:
            return "—"
        evidence = selectors.assessment_evidence(
            contract_id=obj.contract_id, year=obj.year, month=obj.month, now=timezone.now()
        )
        tickets = [(t, clock_badges(views)) for t, views in evidence.tickets]
        complaints = [(c, clock_badges(views)) for c, views in evidence.complaints]
        return render_to_string(
            "assessment/admin_evidence.html",
            {"gateway": evidence.gateway, "tickets": tickets, "complaints": complaints},
        )

    @admin.display(description=_("已签署版本"))
    def versions_display(self, obj: Assessment):
        if obj.pk is None:
            return "—"
        versions = AssessmentVersion.objects.filter(assessment=obj).select_related("signed_by")
        return render_to_string("assessment/admin_versions.html", {"versions": versions})


# --- fault tickets -------------------------------------------------------------------------------


def null_filter(
    title, parameter: str, field: str, *, when_null: StrOrPromise, when_set: StrOrPromise
) -> type[admin.SimpleListFilter]:
    """A list filter on whether a moment field is still empty (e.g. not recovered, not acknowledged)."""

    class NullFilter(admin.SimpleListFilter):
        parameter_name = parameter

        def lookups(self, request, model_admin):
            return [("null", when_null), ("set", when_set)]

        def queryset(self, request, queryset):
            if self.value() in ("null", "set"):
                return queryset.filter(**{f"{field}__isnull": self.value() == "null"})
            return queryset

    NullFilter.title = title
    return NullFilter


OpenFilter = null_filter(_("是否已恢复"), "recovered", "recovered_at", when_null=_("未恢复"), when_set=_("已恢复"))
AcknowledgedFilter = null_filter(
    _("是否已阅"), "acknowledged", "acknowledged_at", when_null=_("未阅"), when_set=_("已阅")
)


class FaultTicketForm(ServiceModelForm):
    class Meta:
        model = FaultTicket
        fields = "__all__"

    def service_check(self, data: dict[str, Any]) -> None:
        merged: dict[str, Any] = {f: data.get(f, getattr(self.instance, f, None)) for f in services.TICKET_EDITABLE}
        services.fault_ticket_check(
            severity=merged["severity"] or "",
            description=merged["description"] or "",
            reported_at=merged["reported_at"],
            **{f: merged[f] for f in services.TICKET_STEPS},
        )


@admin.register(FaultTicket)
class FaultTicketAdmin(SimpleHistoryAdmin):
    form = FaultTicketForm
    list_display = ["__str__", "severity", "source", "reported_at", "reported_by", "clocks", "recovered_at"]
    list_filter = ["severity", "source", OpenFilter, "contract"]
    list_select_related = ["contract"]
    search_fields = ["description", "cause", "reported_by"]
    date_hierarchy = "reported_at"
    readonly_fields = ["source", "clocks", "breaches_display"]
    fieldsets = [
        (_("报修"), {"fields": ["contract", "reported_at", "reported_by", "severity", "description", "source"]}),
        (_("处理"), {"fields": ["responded_at", "on_site_at", "recovered_at", "cause", "solution"]}),
        (_("时限（附件3 第3部分）"), {"fields": ["clocks", "breaches_display"]}),
    ]

    def get_changeform_initial_data(self, request):
        user = request.user
        return {"reported_at": timezone.now(), "reported_by": user.get_full_name() or user.get_username()} | dict(
            super().get_changeform_initial_data(request)
        )

    @admin.display(description=_("时限"))
    def clocks(self, obj: FaultTicket):
        if obj.pk is None:
            return "—"
        return clock_badges(selectors.clock_views(selectors.fault_ticket_clocks(obj), now=timezone.now()))

    @admin.display(description=_("超时记录"))
    def breaches_display(self, obj: FaultTicket):
        return _breach_lines(obj)

    def save_model(self, request, obj, form, change):
        data = {f: v for f, v in form.cleaned_data.items() if f in services.TICKET_EDITABLE}
        if change:
            services.fault_ticket_update(ticket=obj, **{f: data[f] for f in form.changed_data if f in data})
        else:
            obj.pk = services.fault_ticket_open(**data).pk
        obj.refresh_from_db()

    def changelist_view(self, request, extra_context=None):
        _unread_breach_warning(request)
        return super().changelist_view(request, extra_context)


def _breach_lines(obj):
    if obj.pk is None:
        return "—"
    rows = obj.breaches.all()
    if not rows:
        return "—"
    return format_html_join(
        "",
        "<div>{} 超时（截止 {}，发现 {}）</div>",
        (
            (
                b.clock_label,
                timezone.localtime(b.deadline).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(b.detected_at).strftime("%Y-%m-%d %H:%M"),
            )
            for b in rows
        ),
    )


# --- complaints ----------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = _("超时未办")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("超时未办"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(selectors.complaint_overdue_q(now=timezone.now()))
        return queryset


class ComplaintForm(ServiceModelForm):
    class Meta:
        model = Complaint
        fields = "__all__"

    def service_check(self, data: dict[str, Any]) -> None:
        merged: dict[str, Any] = {f: data.get(f, getattr(self.instance, f, None)) for f in services.COMPLAINT_EDITABLE}
        services.complaint_check(
            received_at=merged["received_at"],
            outcome=merged["outcome"] or "",
            **{f: merged[f] for f in services.COMPLAINT_STEPS},
        )


@admin.register(Complaint)
class ComplaintAdmin(SimpleHistoryAdmin):
    form = ComplaintForm
    list_filter = [OverdueFilter, "received_by", "responsible_side", "assessment_part", "channel", "contract"]
    list_select_related = ["contract"]
    search_fields = ["subject", "outcome"]
    date_hierarchy = "received_at"

    def get_list_display(self, request):
        @admin.display(description=_("投诉人号码"))
        def mobile(obj: Complaint) -> str:
            return display_mobile(obj.complainant_mobile, request.user) if obj.complainant_mobile else "—"

        return ["__str__", "received_at", "received_by", "channel", mobile, "subject", "responsible_side", "clocks",
                "resolved_at"]  # fmt: skip

    def get_fieldsets(self, request, obj=None):
        mobile = "complainant_mobile" if self._full_mobile(request, obj) else "mobile_masked"
        return [
            (_("受理（4.4 首问负责）"),
             {"fields": ["contract", "received_at", "received_by", "channel", mobile, "subject"]}),
            (_("处理"), {"fields": ["responsible_side", "assessment_part", "passed_at", "first_reply_at",
                                     "resolved_at", "outcome"]}),
            (_("时限（4.4.1-4.4.3）"), {"fields": ["clocks", "breaches_display"]}),
        ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return ["clocks", "breaches_display", "mobile_masked"]

    def _full_mobile(self, request, obj) -> bool:
        return obj is None or request.user.has_perm("contracts.view_full_mobile")

    def get_exclude(self, request, obj=None):
        return [] if self._full_mobile(request, obj) else ["complainant_mobile"]

    @admin.display(description=_("投诉人号码"))
    def mobile_masked(self, obj: Complaint) -> str:
        return mask_mobile(obj.complainant_mobile) if obj and obj.complainant_mobile else "—"

    @admin.display(description=_("时限"))
    def clocks(self, obj: Complaint):
        if obj.pk is None:
            return "—"
        return clock_badges(selectors.clock_views(selectors.complaint_clocks(obj), now=timezone.now()))

    @admin.display(description=_("超时记录"))
    def breaches_display(self, obj: Complaint):
        return _breach_lines(obj)

    def save_model(self, request, obj, form, change):
        data = {f: v for f, v in form.cleaned_data.items() if f in services.COMPLAINT_EDITABLE}
        if change:
            services.complaint_update(complaint=obj, **{f: data[f] for f in form.changed_data if f in data})
        else:
            obj.pk = services.complaint_open(**{f: v for f, v in data.items() if v is not None}).pk
        obj.refresh_from_db()

    def changelist_view(self, request, extra_context=None):
        _unread_breach_warning(request)
        return super().changelist_view(request, extra_context)


# --- breach notices ------------------------------------------------------------------------------


@admin.register(SlaBreach)
class SlaBreachAdmin(admin.ModelAdmin):
    list_display = ["__str__", "clock_label", "duty", "deadline", "detected_at", "emailed_at", "acknowledged_at"]
    list_filter = [AcknowledgedFilter, "duty", "clock"]
    list_select_related = ["ticket", "complaint"]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("标记为已阅"), permissions=["view"])
    def acknowledge(self, request, queryset):
        for breach in queryset:
            services.sla_breach_acknowledge(breach=breach, by=request.user)
        self.message_user(request, f"已标记 {queryset.count()} 条为已阅。", messages.SUCCESS)
