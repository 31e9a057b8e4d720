"""Gateway data in the admin: every table the police staff maintain, declarative where possible.

Secrets are write-only: an API client's secret is shown once on the page after it is created or rotated,
a carrier node's password is entered in a field that never shows it. Phone numbers are masked unless the
user has `contracts.view_full_mobile` (8.1).
"""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from gateway import models, rules
from gateway.admin_lists import CreatedWithinFilter, EstimatedCountPaginator
from gateway.callbacks.delivery import events_resend
from gateway.callbacks.health import callback_health
from gateway.cmpp.msgid import msg_id_from_signed
from gateway.services.clients import (
    api_client_issue_credentials,
    api_client_rotate,
    callback_url_check,
    carrier_node_set_secret,
)
from gateway.services.message_reads import message_search
from sms_contract.exceptions import ApplicationError
from sms_contract.masking import can_see_full_mobile, display_mobile, mask_mobile, mask_mobiles_in_text

ROTATE_OVERLAP_HOURS = 24


def _masked_columns(request) -> dict:
    """Per-request display callables (the admin object is shared between requests, the user is not)."""
    columns = getattr(request, "_gateway_masked_columns", None)
    if columns is None:
        user = request.user
        full = can_see_full_mobile(user)

        @admin.display(description=_("手机号码"), ordering="mobile")
        def mobile_display(obj) -> str:
            return display_mobile(obj.mobile, user)

        @admin.display(description=_("内容（含签名）"))
        def content_display(obj) -> str:
            return obj.content if full else mask_mobiles_in_text(obj.content)

        columns = {"mobile_display": mobile_display, "content_display": content_display}
        request._gateway_masked_columns = columns
    return columns


class MobileForm(forms.ModelForm):
    """A number typed in the admin is stored as the API stores it (sms_contract.textnorm): `1３８ 0013-8000`
    becomes `13800138000`, anything that is not a mainland mobile is refused on the field."""

    def clean_mobile(self):
        try:
            return rules.normalize_mobile(self.cleaned_data["mobile"])
        except rules.Refusal as refusal:
            raise forms.ValidationError(refusal.detail, code=refusal.code) from None


class MaskedMobileMixin:
    """Phone numbers through `mobile_display` / `content_display`, masked for users without the permission;
    searching by number only for users who may see numbers."""

    # Fallbacks that satisfy the admin's system checks; per request they are swapped for `_masked_columns`.
    @admin.display(description=_("手机号码"), ordering="mobile")
    def mobile_display(self, obj) -> str:
        return mask_mobile(obj.mobile)

    @admin.display(description=_("内容（含签名）"))
    def content_display(self, obj) -> str:
        return mask_mobiles_in_text(obj.content)

    def _swap(self, request, names):
        columns = _masked_columns(request)
        return [columns.get(n, n) if isinstance(n, str) else n for n in names]

    def get_list_display(self, request):
        return self._swap(request, super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._swap(request, super().get_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return self._swap(request, super().get_readonly_fields(request, obj))

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        return fields if can_see_full_mobile(request.user) else [f for f in fields if "mobile" not in f]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.SendingProfile)
class SendingProfileAdmin(SimpleHistoryAdmin):
    list_display = ["contract", "signature", "service_code", "service_id", "code_registered"]

    def get_readonly_fields(self, request, obj=None):
        # Once registered with the carrier the code is fixed (the model's clean() enforces it as well).
        return ["service_code"] if obj is not None and obj.code_registered else []


class CarrierNodeForm(forms.ModelForm):
    secret = forms.CharField(
        label=_("密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("只写：保存后加密存储，不再显示。留空表示不修改。"),
    )

    class Meta:
        model = models.CarrierNode
        fields = [
            "contract",
            "name",
            "host",
            "port",
            "version",
            "sp_id",
            "secret",
            "service_id",
            "source_number",
            "window",
            "rate_limit",
            "weight",
            "enabled",
        ]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and not data.get("secret"):
            self.add_error("secret", _("新节点必须设置密码。"))
        return data

    def save(self, commit=True):
        if self.cleaned_data.get("secret"):
            carrier_node_set_secret(node=self.instance, secret=self.cleaned_data["secret"])
        return super().save(commit=commit)


@admin.register(models.CarrierNode)
class CarrierNodeAdmin(SimpleHistoryAdmin):
    form = CarrierNodeForm
    list_display = ["name", "host", "port", "version", "sp_id", "window", "rate_limit", "weight", "enabled"]
    list_filter = ["enabled", "version"]
    search_fields = ["name", "host"]


@admin.register(models.NoticeType)
class NoticeTypeAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "validity_hours", "default_priority"]
    search_fields = ["code", "name"]


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = models.MessageTemplate
        fields = ["code", "notice_type", "text", "registration", "enabled", "window_start", "window_end"]
        help_texts = {"window_start": _("北京时间；起止都留空表示不限（紧急通知）。起晚于止表示跨午夜。")}

    def clean(self):
        data = super().clean()
        if (data.get("window_start") is None) != (data.get("window_end") is None):
            raise forms.ValidationError(_("允许发送时段的起止须同时填写或同时留空。"))
        return data

    def clean_text(self):
        text = self.cleaned_data["text"]
        try:
            rules.template_placeholders(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if text.lstrip().startswith("【"):
            raise forms.ValidationError(_("模板不含签名：签名由系统统一添加。"))
        return text


@admin.register(models.MessageTemplate)
class MessageTemplateAdmin(SimpleHistoryAdmin):
    form = MessageTemplateForm
    list_display = ["code", "notice_type", "registration", "enabled", "window_start", "window_end", "text"]
    list_filter = ["registration", "enabled", "notice_type"]
    search_fields = ["code", "text"]


@admin.register(models.SubPort)
class SubPortAdmin(SimpleHistoryAdmin):
    list_display = ["sub_port", "using_unit", "organisation_code", "purpose", "valid_from", "valid_until"]
    search_fields = ["sub_port", "using_unit", "organisation_code"]


@admin.register(models.OptOut)
class OptOutAdmin(MaskedMobileMixin, SimpleHistoryAdmin):
    form = MobileForm
    list_display = ["mobile_display", "opted_out", "since", "source"]
    list_filter = ["opted_out", "source"]
    search_fields = ["=mobile"]

    def get_fields(self, request, obj=None):
        # A user who may not see numbers sees the masked one and cannot change it.
        masked = obj is not None and not can_see_full_mobile(request.user)
        return self._swap(request, ["mobile_display" if masked else "mobile", "opted_out", "since", "source"])

    def get_readonly_fields(self, request, obj=None):
        masked = obj is not None and not can_see_full_mobile(request.user)
        return self._swap(request, ["mobile_display"] if masked else [])


@admin.register(models.ScopeSegment)
class ScopeSegmentAdmin(SimpleHistoryAdmin):
    list_display = ["prefix", "carrier"]
    search_fields = ["prefix"]


@admin.register(models.PortedNumber)
class PortedNumberAdmin(MaskedMobileMixin, SimpleHistoryAdmin):
    form = MobileForm
    list_display = ["mobile_display", "direction", "since"]
    list_filter = ["direction"]
    search_fields = ["=mobile"]


@admin.register(models.ForbiddenWord)
class ForbiddenWordAdmin(SimpleHistoryAdmin):
    search_fields = ["word"]


@admin.register(models.AllowedLink)
class AllowedLinkAdmin(SimpleHistoryAdmin):
    search_fields = ["prefix"]


class ApiClientForm(forms.ModelForm):
    class Meta:
        model = models.ApiClient
        fields = ["callback_url"]  # the admin's own `fields` list decides the rest

    def clean_callback_url(self):
        try:
            return callback_url_check(self.cleaned_data.get("callback_url") or "")
        except ApplicationError as exc:
            raise forms.ValidationError(exc.detail) from exc


@admin.register(models.ApiClient)
class ApiClientAdmin(SimpleHistoryAdmin):
    form = ApiClientForm
    list_display = [
        "name",
        "key_id",
        "allow_free_content",
        "may_send",
        "may_manage_optouts",
        "sub_port",
        "enabled",
        "callback_url",
        "callback_state",
    ]
    list_filter = ["enabled", "allow_free_content", "may_send"]
    search_fields = ["name", "key_id"]
    readonly_fields = ["key_id", "created_at", "previous_valid_until", "callback_state"]
    fields = [
        "contract",
        "name",
        "key_id",
        "allow_free_content",
        "may_send",
        "may_manage_optouts",
        "sub_port",
        "enabled",
        "callback_url",
        "callback_submitted",
        "callback_state",
        "created_at",
        "previous_valid_until",
    ]
    actions = ["rotate_secret", "resend_dead_letters"]

    def changelist_view(self, request, extra_context=None):
        self._health = None  # read once per page, for every row
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("回调状况（待推送/失败中/死信，最近错误）"))
    def callback_state(self, obj) -> str:
        if obj.pk is None:
            return "—"
        health = getattr(self, "_health", None)
        if health is None:
            health = self._health = callback_health(list(models.ApiClient.objects.values_list("pk", flat=True)))
        h = health.get(obj.pk)
        if h is None:
            return _("正常（无待推送）") if obj.callback_url else _("仅拉取")
        text = f"{h.pending} / {h.failing} / {h.dead}"
        if h.oldest_pending_at is not None:
            text += f"，最早 {timezone.localtime(h.oldest_pending_at):%m-%d %H:%M:%S}"
        return f"{text}；{h.last_error}" if h.last_error else text

    @admin.action(description=_("重新推送死信事件"), permissions=["change"])
    def resend_dead_letters(self, request, queryset):
        count = sum(events_resend(client_id=c.pk) for c in queryset)
        self.message_user(request, _("已将 %(n)d 条死信事件重新放入推送队列。") % {"n": count})

    def save_model(self, request, obj, form, change):
        if not change:
            obj._new_credentials = api_client_issue_credentials(client=obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        creds = getattr(obj, "_new_credentials", None)
        if creds is None:
            return super().response_add(request, obj, post_url_continue)
        return self._credentials_page(request, [(obj.name, creds)], overlap_hours=0)

    @admin.action(description=_("轮换密钥（原密钥 24 小时内仍有效）"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        rows = [(c.name, api_client_rotate(client=c, overlap_hours=ROTATE_OVERLAP_HOURS)) for c in queryset]
        return self._credentials_page(request, rows, overlap_hours=ROTATE_OVERLAP_HOURS)

    def _credentials_page(self, request, rows, *, overlap_hours: int):
        context = {
            **self.admin_site.each_context(request),
            "title": _("API 客户端密钥（仅显示一次）"),
            "rows": rows,
            "overlap_hours": overlap_hours,
            "back_url": reverse("admin:gateway_apiclient_changelist"),
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "gateway/admin_credentials.html", context)
        response["Cache-Control"] = "no-store"
        return response


def _time_after(moment, start) -> str:
    """A later moment of a message to the second, without the date when it is the day it was received (the list
    fits 1366 px)."""
    if moment is None:
        return "—"
    local, first = timezone.localtime(moment), timezone.localtime(start)
    return local.strftime("%H:%M:%S" if local.date() == first.date() else "%Y-%m-%d %H:%M:%S")


class MessageSegmentInline(admin.TabularInline):
    model = models.MessageSegment
    fields = ["pk_number", "carrier_msg_id_unsigned", "node", "result", "submitted_at", "stat", "reported_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("运营商 Msg_Id"))
    def carrier_msg_id_unsigned(self, obj) -> str:
        return str(msg_id_from_signed(obj.carrier_msg_id))


@admin.register(models.Message)
class MessageAdmin(MaskedMobileMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "client_ref",
        "mobile_display",
        "status",
        "units_short",
        "node_short",
        "created_at",
        "submitted_time",
        "delivered_time",
        "stat_short",
    ]
    # Tens of millions of rows (ADR 0116): the last 7 days unless another range is chosen, counts exact up to
    # 10,000 and estimated above, searches served by indexes (message_search).
    list_filter = [CreatedWithinFilter, "status", "node", "notice_type", "possible_duplicate"]
    list_select_related = ["node"]
    search_fields = ["=id", "=client_ref", "=mobile"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [MessageSegmentInline]
    fields = [
        "id",
        "contract",
        "client",
        "client_ref",
        "mobile_display",
        "notice_type",
        "template",
        "content_display",
        "src_id",
        "units",
        "segments",
        "status",
        "stat",
        "node",
        "possible_duplicate",
        "attempts",
        "created_at",
        "valid_until",
        "submitted_at",
        "delivered_at",
        "finished_at",
    ]
    readonly_fields = fields

    # Short headers so the list fits 1366 px with the menu and the filters open.
    @admin.display(description=_("条数"), ordering="units")
    def units_short(self, obj):
        return obj.units

    @admin.display(description=_("节点"), ordering="node__name")
    def node_short(self, obj):
        return obj.node.name if obj.node_id else "—"

    @admin.display(description=_("报告"), ordering="stat")
    def stat_short(self, obj):
        return obj.stat or "—"

    @admin.display(description=_("提交"), ordering="submitted_at")
    def submitted_time(self, obj):
        return _time_after(obj.submitted_at, obj.created_at)

    @admin.display(description=_("送达"), ordering="delivered_at")
    def delivered_time(self, obj):
        return _time_after(obj.delivered_at, obj.created_at)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(message_search(search_term, by_mobile=can_see_full_mobile(request.user))), False


@admin.register(models.DailyCount)
class DailyCountAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "notice_type",
        "node",
        "accepted_messages",
        "accepted_units",
        "delivered_messages",
        "delivered_units",
        "failed_messages",
        "refused_segments",
    ]
    list_filter = ["node", "notice_type"]
    date_hierarchy = "day"


@admin.register(models.MessageEvent)
class MessageEventAdmin(ReadOnlyAdmin):
    """The outbox: what was pushed, what waits, the dead letters with their last error (re-send them here)."""

    list_display = ["id", "client", "message_id", "client_ref", "status", "stat", "at", "delivery", "attempts"]
    list_display += ["next_attempt_at", "last_error"]
    list_filter = ["delivery", "status", "client"]
    search_fields = ["=message__id", "client_ref"]
    list_select_related = ["client"]
    show_full_result_count = False
    actions = ["resend"]

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("gateway.change_messageevent")

    @admin.action(description=_("重新推送所选死信事件"), permissions=["resend"])
    def resend(self, request, queryset):
        count = events_resend(ids=list(queryset.filter(delivery="dead").values_list("pk", flat=True)))
        self.message_user(request, _("已将 %(n)d 条死信事件重新放入推送队列。") % {"n": count})
