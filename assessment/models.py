"""Monthly assessments (Annex 3), fault tickets (Annex 3 part 3), complaints (4.4) and SLA breaches.

Part scores are kept as a mapping part code → whole number because the parts, their ranges and
bands are data of the contract (`contracts.scheme`); the services check them against that data.
"""

import contextlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from sms_contract import textnorm


def _times_after(obj: models.Model, start: str, fields: list[str], message) -> None:
    begin = getattr(obj, start)
    errors = {f: message for f in fields if begin and getattr(obj, f) and getattr(obj, f) < begin}
    if errors:
        raise ValidationError(errors)


class Side(models.TextChoices):
    POLICE = "police", _("甲方（交警支队）")
    CARRIER = "carrier", _("乙方（移动公司）")


class Assessment(models.Model):
    """One contract's assessment for one month; the current version. Earlier signed versions live in
    `AssessmentVersion`; every edit is in the history table too."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SIGNED = "signed", _("已签署")
        LOCKED = "locked", _("已锁定（已用于结算单）")

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="assessments", verbose_name=_("合同")
    )
    year = models.PositiveSmallIntegerField(_("年"))
    month = models.PositiveSmallIntegerField(_("月"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField(_("版本"), default=1)
    scores = models.JSONField(_("各项得分"), default=dict)
    reasons = models.JSONField(_("扣分理由"), default=dict, blank=True)
    remarks = models.TextField(_("备注"), blank=True)
    total = models.PositiveSmallIntegerField(_("总分"), default=0)
    payment_ratio = models.DecimalField(_("付款比例"), max_digits=4, decimal_places=2, default=0)
    suggestions = models.JSONField(
        _("系统建议分"), default=dict, blank=True, help_text=_("{部分: {score, basis}}，记录时的建议。")
    )
    overridden = models.JSONField(_("未采纳建议的部分"), default=list, blank=True)
    change_reason = models.TextField(_("修订理由"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("记录人"),
    )  # fmt: skip
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("签署人"),
    )  # fmt: skip
    signed_at = models.DateTimeField(_("签署时间"), null=True, blank=True)
    locked_at = models.DateTimeField(_("锁定时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # The revision reason goes into the history too, whole (simple_history's default column holds 100 characters).
    history = HistoricalRecords(history_change_reason_field=models.TextField(null=True))

    class Meta:
        verbose_name = _("月度考核")
        verbose_name_plural = _("月度考核")
        ordering = ["-year", "-month", "contract_id"]
        permissions = [("sign_assessment", _("可签署月度考核"))]
        constraints = [
            models.UniqueConstraint(fields=["contract", "year", "month"], name="assessment_one_per_contract_month"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="assessment_month_1_12"),
            models.CheckConstraint(
                condition=Q(payment_ratio__gte=0, payment_ratio__lte=1), name="assessment_payment_ratio_0_1"
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(signed_by__isnull=False, signed_at__isnull=False),
                name="assessment_signed_has_signer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.number} {self.period}"

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    period.fget.short_description = _("账期")


class AssessmentVersion(models.Model):
    """What was signed, frozen: written when a version is signed, never changed afterwards."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="versions", verbose_name=_("月度考核")
    )
    version = models.PositiveIntegerField(_("版本"))
    scores = models.JSONField(_("各项得分"))
    reasons = models.JSONField(_("扣分理由"), default=dict)
    remarks = models.TextField(_("备注"), blank=True)
    total = models.PositiveSmallIntegerField(_("总分"))
    payment_ratio = models.DecimalField(_("付款比例"), max_digits=4, decimal_places=2)
    change_reason = models.TextField(_("修订理由"), blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("签署人")
    )
    signed_at = models.DateTimeField(_("签署时间"))
    superseded_at = models.DateTimeField(_("被修订时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("考核签署版本")
        verbose_name_plural = _("考核签署版本")
        ordering = ["assessment_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "version"], name="assessment_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.assessment} v{self.version}"


class FaultTicket(models.Model):
    """A fault report with the Annex 3 part 3 clocks (response, on site, recovery)."""

    class Severity(models.TextChoices):
        MINOR = "minor", _("小型故障")
        SEVERE = "severe", _("严重故障")

    class Source(models.TextChoices):
        MANUAL = "manual", _("人工报修")
        AUTOMATIC = "automatic", _("网关自动报修")

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="fault_tickets", verbose_name=_("合同")
    )
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    reported_at = models.DateTimeField(_("报修时间"))
    reported_by = models.CharField(_("报修人"), max_length=100)
    severity = models.CharField(_("故障级别"), max_length=10, choices=Severity.choices)
    description = models.TextField(_("故障描述"))
    responded_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    on_site_at = models.DateTimeField(_("到达现场时间"), null=True, blank=True)
    recovered_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    cause = models.TextField(_("故障原因"), blank=True)
    solution = models.TextField(_("解决方案"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("故障单")
        verbose_name_plural = _("故障单")
        ordering = ["-reported_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(responded_at__isnull=True) | Q(responded_at__gte=models.F("reported_at")),
                name="faultticket_responded_after_report",
            ),
            models.CheckConstraint(
                condition=Q(on_site_at__isnull=True) | Q(on_site_at__gte=models.F("reported_at")),
                name="faultticket_on_site_after_report",
            ),
            models.CheckConstraint(
                condition=Q(recovered_at__isnull=True) | Q(recovered_at__gte=models.F("reported_at")),
                name="faultticket_recovered_after_report",
            ),
        ]

    def __str__(self) -> str:
        return f"故障单#{self.pk}"

    def clean(self) -> None:
        _times_after(self, "reported_at", ["responded_at", "on_site_at", "recovered_at"], _("不能早于报修时间。"))


class Complaint(models.Model):
    """A user complaint under the first-ask rule of 4.4, with the one-hour clocks of 4.4.1-4.4.3."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("电话")
        APP = "app", _("交管12123 App")
        HOTLINE_10086 = "10086", _("10086 客服")
        LETTER = "letter", _("信函")
        VISIT = "visit", _("来访")
        OTHER = "other", _("其他")

    class Responsibility(models.TextChoices):
        POLICE = "police", _("甲方问题")
        CARRIER = "carrier", _("乙方问题")
        UNKNOWN = "unknown", _("无法判断")

    class Part(models.TextChoices):
        OPS_TIMELINESS = "ops_timeliness", _("2.1 信息发送及时、内容规范准确")
        OPS_COMPLIANCE = "ops_compliance", _("2.2 符合公安部交管局、省交警总队与通信主管部门的协议")

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="complaints", verbose_name=_("合同")
    )
    received_at = models.DateTimeField(_("受理时间"))
    received_by = models.CharField(_("首问方"), max_length=10, choices=Side.choices)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, default=Channel.PHONE)
    complainant_mobile = models.CharField(_("投诉人号码"), max_length=20, blank=True)
    subject = models.CharField(_("投诉事由"), max_length=300)
    responsible_side = models.CharField(
        _("责任判断"), max_length=10, choices=Responsibility.choices, default=Responsibility.UNKNOWN
    )
    assessment_part = models.CharField(
        _("涉及考核项"), max_length=20, choices=Part.choices, default=Part.OPS_TIMELINESS
    )
    first_reply_at = models.DateTimeField(_("初步回复时间"), null=True, blank=True)
    passed_at = models.DateTimeField(_("联系/转交对方时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    outcome = models.TextField(_("处理结果"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(passed_at__isnull=True) | Q(passed_at__gte=models.F("received_at")),
                name="complaint_passed_after_received",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("received_at")),
                name="complaint_resolved_after_received",
            ),
        ]

    def __str__(self) -> str:
        return f"投诉#{self.pk}"

    def clean(self) -> None:
        _times_after(self, "received_at", ["passed_at", "first_reply_at", "resolved_at"], _("不能早于受理时间。"))
        if self.complainant_mobile:
            # A mobile typed any way (1３８…, +86, dashes) is stored as its 11 ASCII digits like everywhere else,
            # so it is masked and found; a landline or other number stays as typed.
            with contextlib.suppress(textnorm.InvalidMobile):
                self.complainant_mobile = textnorm.mobile_normalize(self.complainant_mobile)


class SlaBreach(models.Model):
    """One breached clock of a ticket or complaint: the notice shown in the admin and e-mailed once."""

    ticket = models.ForeignKey(
        FaultTicket, on_delete=models.CASCADE, null=True, blank=True, related_name="breaches", verbose_name=_("故障单")
    )
    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, null=True, blank=True, related_name="breaches", verbose_name=_("投诉")
    )
    clock = models.CharField(_("时限"), max_length=20)
    clock_label = models.CharField(_("时限名称"), max_length=40)
    duty = models.CharField(_("责任方"), max_length=10, choices=Side.choices)
    deadline = models.DateTimeField(_("截止时间"))
    detected_at = models.DateTimeField(_("发现时间"))
    emailed_at = models.DateTimeField(_("邮件通知时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("已阅时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("已阅人"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("超时提醒")
        verbose_name_plural = _("超时提醒")
        ordering = ["-detected_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ticket__isnull=False, complaint__isnull=True)
                | Q(ticket__isnull=True, complaint__isnull=False),
                name="slabreach_ticket_xor_complaint",
            ),
            models.UniqueConstraint(
                fields=["ticket", "clock"], condition=Q(ticket__isnull=False), name="slabreach_once_per_ticket_clock"
            ),
            models.UniqueConstraint(
                fields=["complaint", "clock"],
                condition=Q(complaint__isnull=False),
                name="slabreach_once_per_complaint_clock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket or self.complaint} {self.clock_label}超时"
