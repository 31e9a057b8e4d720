"""The contract as data: parties, figures, periods and the Annex 3 scoring scheme.

Nothing about a particular contract is a constant in code. The seed contract
(JSZC-320300-HWZX-D2025-0524) is loaded by `python manage.py load_contract`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

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
        from contracts.selectors import contract_terms

        return contract_terms(self).prepayment_fen

    @property
    def bond_fen(self) -> int:
        from contracts.selectors import contract_terms

        return contract_terms(self).bond_fen
