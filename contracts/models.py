"""The contract as data: parties, figures, periods and the Annex 3 scoring scheme.

Nothing about a particular contract is a constant in code. The seed contract
(JSZC-320300-HWZX-D2025-0524) is loaded by `python manage.py load_contract`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.rules import notice_delivered_at, notice_method_allowed, share_of_total_fen
from contracts.scheme import validate_scheme


class Party(models.Model):
    """A contracting party (甲方 or 乙方) with its notice address (13.8.3)."""

    class Kind(models.TextChoices):
        PURCHASER = "purchaser", _("采购人（甲方）")
        CARRIER = "carrier", _("运营商（乙方）")

    name = models.CharField(_("名称"), max_length=200, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    contact = models.CharField(_("联系人"), max_length=100, blank=True)
    phone = models.CharField(_("电话"), max_length=50, blank=True)
    fax = models.CharField(_("传真"), max_length=50, blank=True)
    postcode = models.CharField(_("邮编"), max_length=20, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="parties", verbose_name=_("本方用户")
    )
    history = HistoricalRecords(excluded_fields=["members"])

    class Meta:
        verbose_name = _("合同方")
        verbose_name_plural = _("合同方")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contract(models.Model):
    class PaymentMethod(models.TextChoices):
        ADVANCE_GUARANTEE = "one", _("方式一：提交预付款保函（20%）")
        NO_GUARANTEE = "two", _("方式二：不提交预付款保函（10%）")

    class SuccessBasis(models.TextChoices):
        ACCEPTED = "accepted", _("运营商受理即计成功（SUBMIT_RESP 结果 0）")
        DELIVERED = "delivered", _("状态报告 DELIVRD 才计成功")

    number = models.CharField(_("项目编号"), max_length=64, unique=True)
    name = models.CharField(_("项目名称"), max_length=200)
    purchaser = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("采购人（甲方）")
    )
    supplier = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="supplies", verbose_name=_("供应商（乙方）")
    )
    signed_on = models.DateField(_("签订日期"))
    activated_on = models.DateField(_("业务开通日期"), null=True, blank=True)
    accepted_on = models.DateField(_("验收合格日期"), null=True, blank=True)

    unit_price = models.DecimalField(_("单价（元/条）"), max_digits=10, decimal_places=4)
    total_amount_fen = models.BigIntegerField(_("合同总金额（分）"))
    payment_method = models.CharField(
        _("付款方式"), max_length=8, choices=PaymentMethod.choices, default=PaymentMethod.NO_GUARANTEE
    )
    prepayment_rate = models.DecimalField(_("预付款比例"), max_digits=5, decimal_places=4)
    prepayment_due_days = models.PositiveIntegerField(_("预付款支付期限（签订后天数）"), default=30)
    bond_rate = models.DecimalField(_("履约保证金比例"), max_digits=5, decimal_places=4)
    bond_refund_months = models.PositiveIntegerField(_("保证金验收后退还（月）"), default=12)
    billing_unit_chars = models.PositiveIntegerField(_("计费字数（含签名）"), default=70)
    bill_due_day = models.PositiveSmallIntegerField(_("账单提供日（次月几日前）"), default=15)
    late_fee_daily_rate = models.DecimalField(
        _("滞纳金日费率"),
        max_digits=8,
        decimal_places=6,
        default=Decimal("0"),
        help_text=_("合同未约定费率（9.1），默认为 0。"),
    )
    success_basis = models.CharField(
        _("成功条数口径"), max_length=16, choices=SuccessBasis.choices, default=SuccessBasis.ACCEPTED
    )

    service_months = models.PositiveIntegerField(_("服务期（月）"), default=12)
    auto_renew = models.BooleanField(_("到期自动续展"), default=True)
    renewal_notice_days = models.PositiveIntegerField(_("不续展书面通知提前天数"), default=90)
    termination_notice_days = models.PositiveIntegerField(_("停止服务书面通知提前天数"), default=90)
    confidentiality_years = models.PositiveIntegerField(_("服务终止后保密年限"), default=2)
    terminated_on = models.DateField(_("终止日期"), null=True, blank=True)

    assessment_parts = models.JSONField(_("考核项目（附件3）"), default=list)
    payment_ratio_bands = models.JSONField(_("得分与付款比例（附件3）"), default=list)

    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("合同")
        verbose_name_plural = _("合同")
        ordering = ["-signed_on", "number"]
        permissions = [("view_full_mobile", _("可查看完整手机号码"))]
        constraints = [
            models.CheckConstraint(condition=models.Q(total_amount_fen__gt=0), name="contract_total_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gt=0), name="contract_unit_price_positive"),
            models.CheckConstraint(
                condition=models.Q(prepayment_rate__gte=0, prepayment_rate__lte=1),
                name="contract_prepayment_rate_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(bond_rate__gte=0, bond_rate__lte=1), name="contract_bond_rate_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def clean(self) -> None:
        if self.purchaser_id and self.purchaser_id == self.supplier_id:
            raise ValidationError({"supplier": _("甲方与乙方不能是同一方。")})
        try:
            validate_scheme(self.assessment_parts, self.payment_ratio_bands)
        except ValueError as exc:
            raise ValidationError({"assessment_parts": str(exc)}) from exc

    @property
    def prepayment_fen(self) -> int:
        return share_of_total_fen(self.total_amount_fen, self.prepayment_rate)

    @property
    def bond_fen(self) -> int:
        return share_of_total_fen(self.total_amount_fen, self.bond_rate)


class FormalNotice(models.Model):
    """A formal notice between the parties (13.8), with its delivered time per 13.8.2."""

    class Kind(models.TextChoices):
        FEES = "fees", _("（1）费用及支付")
        BREACH = "breach", _("（2）违约")
        TERMINATION = "termination", _("（3）终止、解除或变更")
        RENEWAL = "renewal", _("（4）延续/续展")
        OTHER = "other", _("其他")

    class Method(models.TextChoices):
        REGISTERED_LETTER = "registered_letter", _("挂号信")
        COURIER = "courier", _("特快专递")
        FAX = "fax", _("传真")
        EMAIL = "email", _("电子邮件")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="notices", verbose_name=_("合同"))
    sender = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="notices_sent", verbose_name=_("发出方"))
    kind = models.CharField(_("通知事项"), max_length=20, choices=Kind.choices)
    method = models.CharField(_("送达方式"), max_length=20, choices=Method.choices)
    subject = models.CharField(_("标题"), max_length=200)
    summary = models.TextField(_("内容摘要"), blank=True)
    ends_service = models.BooleanField(
        _("不续展/停止服务"),
        default=False,
        help_text=_("续展类：不再续展的通知（12.2）；终止类：停止提供服务的书面告知（4.5）。"),
    )
    tracking_number = models.CharField(_("挂号/快递单号"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("发出时间"))
    received_at = models.DateTimeField(
        _("签收/到达时间"),
        null=True,
        blank=True,
        help_text=_("信函：邮局或快递系统记录的签收时间；传真：到达对方传真系统；电子邮件：到达对方邮箱。"),
    )
    failed_by_recipient = models.BooleanField(
        _("因接收方原因拒收或发送失败"),
        default=False,
        help_text=_("如拒收、传真机关闭或故障、邮箱不存在或已满：以发出时间为送达时间（13.8.2）。"),
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("登记人")
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("正式通知")
        verbose_name_plural = _("正式通知")
        ordering = ["-sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(received_at__isnull=True) | models.Q(received_at__gte=models.F("sent_at")),
                name="formalnotice_received_after_sent",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["fees", "breach", "termination", "renewal"])
                | models.Q(method__in=["registered_letter", "courier"]),
                name="formalnotice_letter_only_kinds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject}"

    def clean(self) -> None:
        errors = {}
        if self.kind and self.method and not notice_method_allowed(self.kind, self.method):
            errors["method"] = _(
                "13.8.1：费用及支付、违约、终止/解除/变更、延续/续展事项的通知必须采用书面信函"
                "（挂号信或特快专递），以传真或电子邮件发出的此类通知无效。"
            )
        if self.received_at and self.sent_at and self.received_at < self.sent_at:
            errors["received_at"] = _("签收/到达时间不能早于发出时间。")
        if self.ends_service and self.kind not in (self.Kind.RENEWAL, self.Kind.TERMINATION):
            errors["ends_service"] = _("只有续展类或终止类通知可以是不续展/停止服务通知。")
        if (
            self.contract_id
            and self.sender_id
            and self.sender_id
            not in (
                self.contract.purchaser_id,
                self.contract.supplier_id,
            )
        ):
            errors["sender"] = _("发出方必须是本合同的甲方或乙方。")
        if errors:
            raise ValidationError(errors)

    @property
    def delivered_at(self):
        """13.8.2 delivered time (None while not delivered)."""

        return notice_delivered_at(
            method=self.method,
            sent_at=self.sent_at,
            received_at=self.received_at,
            failed_by_recipient=self.failed_by_recipient,
        )


class DeadlineReminder(models.Model):
    """A reminder e-mail before a deadline, one per deadline and offset. It counts as sent only once the mail
    server took it (`sent_at`); until then it is retried, and the admin shows why it failed (`last_error`)."""

    class Kind(models.TextChoices):
        RENEWAL_DECISION = "renewal_decision", _("续展决定截止日")
        BILL_DUE = "bill_due", _("账单提供截止日")
        BOND_REFUND = "bond_refund", _("履约保证金退还日")
        SERVICE_END = "service_end", _("服务期届满日")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("合同"))
    kind = models.CharField(_("期限类型"), max_length=20, choices=Kind.choices)
    deadline = models.DateField(_("期限"))
    days_before = models.PositiveIntegerField(_("提前天数"))
    message = models.CharField(_("内容"), max_length=300, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    recipients = models.TextField(_("收件人"), blank=True)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("发送尝试次数"), default=0)
    last_attempt_at = models.DateTimeField(_("最近尝试时间"), null=True, blank=True)
    last_error = models.CharField(_("失败原因"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("期限提醒")
        verbose_name_plural = _("期限提醒")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kind", "deadline", "days_before"], name="deadlinereminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.deadline}（提前{self.days_before}天）"
