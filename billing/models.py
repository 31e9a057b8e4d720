"""Billing data: the working-day calendar, imported success counts, the carrier's bills, monthly
statements and the money after them (invoices, payments, prepayment, performance bond).

Money is integer fen (`*_fen`). Carrier Msg_Ids are unsigned 64-bit; they are stored as the signed
64-bit integer with the same bits (`gateway.cmpp.msgid.msg_id_to_signed`) so that both databases keep them exactly.
"""

from django.conf import settings
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class CalendarYear(models.Model):
    """A year the working-day calendar covers. Dates of a year without a row here are never guessed."""

    class Source(models.TextChoices):
        PACKAGE = "chinese_calendar", _("chinese_calendar 软件包")
        MANUAL = "manual", _("人工录入（国务院办公厅通知）")
        PROVISIONAL = "provisional", _("临时（按放假办法推算，待国务院办公厅通知）")

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("工作日历年度")
        verbose_name_plural = _("工作日历年度")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """One day of the official calendar: workday, weekend, statutory holiday or make-up working day."""

    class Kind(models.TextChoices):
        WORKDAY = "workday", _("工作日")
        WEEKEND = "weekend", _("周末")
        HOLIDAY = "holiday", _("法定节假日")
        MAKEUP = "makeup", _("调休上班日")

    date = models.DateField(_("日期"), unique=True)
    is_working = models.BooleanField(_("是否工作日"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("节日名称"), max_length=50, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=["workday", "makeup"], is_working=True)
                    | models.Q(kind__in=["weekend", "holiday"], is_working=False)
                ),
                name="calendarday_kind_matches_working",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class SuccessCountImport(models.Model):
    """A file of daily success counts sent by another system (imported with `import_success_counts`)."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="success_imports", verbose_name=_("合同")
    )
    filename = models.CharField(_("文件名"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("导入人")
    )
    uploaded_at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    first_day = models.DateField(_("起始日期"), null=True, blank=True)
    last_day = models.DateField(_("截止日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("成功条数导入")
        verbose_name_plural = _("成功条数导入")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"


class ImportedDailyUnits(models.Model):
    """An imported day's success units; it replaces the gateway's figure for that day (ADR 0010).
    Re-importing the day updates this row; the history keeps every earlier value."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="imported_days", verbose_name=_("合同")
    )
    day = models.DateField(_("日期"))
    units = models.BigIntegerField(_("成功条数"))
    source = models.ForeignKey(
        SuccessCountImport, on_delete=models.PROTECT, related_name="days", verbose_name=_("来源文件")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("导入的每日成功条数")
        verbose_name_plural = _("导入的每日成功条数")
        ordering = ["contract", "day"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "day"], name="importeddailyunits_unique_day"),
            models.CheckConstraint(condition=models.Q(units__gte=0), name="importeddailyunits_units_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.units}"


class CarrierBill(models.Model):
    """The carrier's monthly bill (5.3 note 2) as uploaded, with its reconciliation against our counts."""

    class Kind(models.TextChoices):
        SUMMARY = "summary", _("按日汇总")
        DETAIL = "detail", _("逐条明细")

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="carrier_bills", verbose_name=_("合同")
    )
    year = models.PositiveSmallIntegerField(_("年"))
    month = models.PositiveSmallIntegerField(_("月"))
    kind = models.CharField(_("格式"), max_length=10, choices=Kind.choices)
    filename = models.CharField(_("文件名"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("上传人")
    )
    uploaded_at = models.DateTimeField(_("上传时间"))
    due_on = models.DateField(_("应提供日期"))
    is_late = models.BooleanField(_("逾期提供"), default=False)
    total_units = models.BigIntegerField(_("账单条数合计"), default=0)
    record_count = models.PositiveIntegerField(_("明细行数"), default=0)
    missing_ours_count = models.PositiveIntegerField(_("我方无记录的条目数"), default=0)
    missing_theirs_count = models.PositiveIntegerField(_("对方账单缺少的条目数"), default=0)
    missing_ours_sample = models.JSONField(_("我方无记录的消息ID（样本）"), default=list, blank=True)
    missing_theirs_sample = models.JSONField(_("对方缺少的消息ID（样本）"), default=list, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("运营商月度账单")
        verbose_name_plural = _("运营商月度账单")
        ordering = ["-year", "-month", "-uploaded_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(month__gte=1, month__lte=12), name="carrierbill_month_1_12"),
        ]

    def __str__(self) -> str:
        return f"{self.contract.number} {self.year}-{self.month:02d} ({self.filename})"

    @property
    def period(self) -> str:
        return f"{self.year}-{self.month:02d}"

    period.fget.short_description = _("账期")


class CarrierBillDay(models.Model):
    bill = models.ForeignKey(CarrierBill, on_delete=models.CASCADE, related_name="days", verbose_name=_("账单"))
    day = models.DateField(_("日期"))
    units = models.BigIntegerField(_("条数"))

    class Meta:
        verbose_name = _("账单日汇总")
        verbose_name_plural = _("账单日汇总")
        ordering = ["bill", "day"]
        constraints = [models.UniqueConstraint(fields=["bill", "day"], name="carrierbillday_unique_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.units}"


class CarrierBillRecord(models.Model):
    """One detail row of a carrier bill; loaded in bulk (COPY on PostgreSQL), never edited."""

    bill = models.ForeignKey(CarrierBill, on_delete=models.CASCADE, related_name="records", db_index=False)
    row = models.PositiveIntegerField(_("行号"))
    msg_id = models.BigIntegerField(_("消息ID（有符号存储）"))
    mobile = models.CharField(_("手机号码"), max_length=20)
    submitted_at = models.DateTimeField(_("提交时间"))
    day = models.DateField(_("日期"))
    units = models.IntegerField(_("计费条数"))
    status = models.CharField(_("状态"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("账单明细")
        verbose_name_plural = _("账单明细")
        indexes = [models.Index(fields=["bill", "msg_id"], name="carrierbillrecord_msgid_idx")]

    def __str__(self) -> str:
        return f"{self.bill_id}#{self.row}"


def statement_pdf_path(statement: "Statement", filename: str) -> str:
    """media/statements/<contract number>/<statement number>.pdf (the volume the backups include)."""
    return f"statements/{slugify(statement.contract.number)}/{statement.number}.pdf"


class Statement(models.Model):
    """The monthly settlement sheet (结算单). Issued statements never change; a correction is a separate
    adjustment statement (`sequence` 2, 3…) with its own number."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        APPROVED = "approved", _("已审核")
        ISSUED = "issued", _("已开具")
        PARTLY_PAID = "partly_paid", _("部分付款")
        PAID = "paid", _("已付清")

    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("月度结算")
        ADJUSTMENT = "adjustment", _("调整结算")

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="statements", verbose_name=_("合同")
    )
    year = models.PositiveSmallIntegerField(_("年"))
    month = models.PositiveSmallIntegerField(_("月"))
    sequence = models.PositiveSmallIntegerField(_("序号"), default=1)
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices, default=Kind.MONTHLY)
    adjusts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("调整对象")
    )
    number = models.CharField(_("结算单编号"), max_length=40, unique=True)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.DRAFT)
    reason = models.CharField(_("调整原因"), max_length=300, blank=True)

    units = models.BigIntegerField(_("成功条数"), default=0)
    unit_price = models.DecimalField(_("单价（元/条）"), max_digits=10, decimal_places=4)
    gross_fen = models.BigIntegerField(_("应付费用（分）"), default=0)
    assessment_id = models.BigIntegerField(_("考核记录"), null=True, blank=True)
    assessment_total = models.PositiveSmallIntegerField(_("考核得分"), null=True, blank=True)
    assessment_scores = models.JSONField(_("考核分项得分"), default=dict, blank=True)
    payment_ratio = models.DecimalField(_("付款比例"), max_digits=5, decimal_places=4, null=True, blank=True)
    payable_fen = models.BigIntegerField(_("考核后应付（分）"), default=0)
    held_fen = models.BigIntegerField(_("超出合同总额暂扣（分）"), default=0)
    billable_fen = models.BigIntegerField(_("本期结算金额（分）"), default=0)
    prepayment_applied_fen = models.BigIntegerField(_("抵扣预付款（分）"), default=0)
    prepayment_balance_fen = models.BigIntegerField(_("预付款余额（分）"), default=0)
    net_due_fen = models.BigIntegerField(_("本期应付（分）"), default=0)
    cumulative_payable_fen = models.BigIntegerField(_("累计结算（分）"), default=0)
    contract_remaining_fen = models.BigIntegerField(_("合同剩余金额（分）"), default=0)
    paid_fen = models.BigIntegerField(_("已付（分）"), default=0)
    due_on = models.DateField(_("账单提供截止日"))
    daily_units = models.JSONField(_("每日成功条数"), default=dict, blank=True)

    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("审核人"),
    )
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("开具人"),
    )
    issued_at = models.DateTimeField(_("开具时间"), null=True, blank=True)
    # The document both parties sign: rendered once when the statement is issued and served ever after.
    pdf_file = models.FileField(_("开具时存档的 PDF"), upload_to=statement_pdf_path, blank=True, max_length=200)
    pdf_sha256 = models.CharField(_("PDF 的 SHA-256"), max_length=64, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("结算单")
        verbose_name_plural = _("结算单")
        ordering = ["contract", "year", "month", "sequence"]
        permissions = [
            ("approve_statement", _("可审核结算单（甲方）")),
            ("issue_statement", _("可开具结算单（财务）")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["contract", "year", "month", "sequence"], name="statement_unique_seq"),
            models.CheckConstraint(condition=models.Q(month__gte=1, month__lte=12), name="statement_month_1_12"),
            models.CheckConstraint(condition=models.Q(prepayment_balance_fen__gte=0), name="statement_prepay_nonneg"),
            models.CheckConstraint(condition=models.Q(paid_fen__gte=0), name="statement_paid_nonneg"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def period(self) -> str:
        return f"{self.year}-{self.month:02d}"

    period.fget.short_description = _("账期")

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.net_due_fen - self.paid_fen)


class Invoice(models.Model):
    """A VAT special invoice (增值税专用发票) from the carrier, for a statement or for the prepayment."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("合同")
    )
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("结算单")
    )
    number = models.CharField(_("发票号码"), max_length=40, unique=True)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    issued_on = models.DateField(_("开票日期"))
    received_on = models.DateField(_("收到日期"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("增值税专用发票")
        verbose_name_plural = _("增值税专用发票")
        ordering = ["-issued_on", "number"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="invoice_amount_positive")]

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    """A payment by the purchaser, settling the oldest outstanding statements first (5.5). What it could not
    settle stays as `unallocated_fen`, a credit used for the next statement that is issued."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="payments", verbose_name=_("合同")
    )
    paid_on = models.DateField(_("付款日期"))
    amount_fen = models.BigIntegerField(_("金额（分）"))
    reference = models.CharField(_("付款凭证号"), max_length=100)
    unallocated_fen = models.BigIntegerField(_("未分配余额（分）"), default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("登记人")
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("付款")
        verbose_name_plural = _("付款")
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(unallocated_fen__gte=0, unallocated_fen__lte=models.F("amount_fen")),
                name="payment_unallocated_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.paid_on} {self.reference}"


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("付款"))
    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("结算单")
    )
    amount_fen = models.BigIntegerField(_("抵充金额（分）"))
    created_at = models.DateTimeField(_("抵充时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("付款抵充")
        verbose_name_plural = _("付款抵充")
        ordering = ["payment", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.payment} → {self.statement}"


class CreditOffset(models.Model):
    """Part of a credit — an issued adjustment statement with a negative amount due — set against a later amount
    due, oldest due first (billing.services.payments.credit_offsets_apply)."""

    credit = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="credit_offsets", verbose_name=_("贷项结算单")
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="credits_received", verbose_name=_("抵减的结算单")
    )
    amount_fen = models.BigIntegerField(_("抵减金额（分）"))
    created_at = models.DateTimeField(_("抵减时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("贷项抵减")
        verbose_name_plural = _("贷项抵减")
        ordering = ["credit", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="creditoffset_amount_positive"),
            models.CheckConstraint(condition=~models.Q(credit=models.F("statement")), name="creditoffset_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.credit} → {self.statement}"


class Prepayment(models.Model):
    """The prepayment (5.3 method two): 10% of the total within 30 days of signing, on a VAT invoice."""

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.PROTECT, related_name="prepayment", verbose_name=_("合同")
    )
    amount_fen = models.BigIntegerField(_("金额（分）"))
    paid_on = models.DateField(_("支付日期"), null=True, blank=True)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("发票")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("预付款")
        verbose_name_plural = _("预付款")
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="prepayment_positive")]

    def __str__(self) -> str:
        return f"{self.contract.number} 预付款"


class PerformanceBond(models.Model):
    """The performance bond (5.2): 10% of the total in non-cash form, refunded without interest
    `bond_refund_months` after acceptance."""

    class Form(models.TextChoices):
        GUARANTEE = "guarantee", _("保函")
        CHEQUE = "cheque", _("支票")
        DRAFT = "draft", _("汇票")
        PROMISSORY = "promissory", _("本票")
        OTHER = "other", _("其他非现金形式")

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.PROTECT, related_name="bond", verbose_name=_("合同")
    )
    amount_fen = models.BigIntegerField(_("金额（分）"))
    form = models.CharField(_("形式"), max_length=12, choices=Form.choices)
    issuer = models.CharField(_("出具机构"), max_length=200, blank=True)
    reference = models.CharField(_("编号"), max_length=100, blank=True)
    received_on = models.DateField(_("收到日期"), null=True, blank=True)
    refunded_on = models.DateField(_("退还日期"), null=True, blank=True)
    reminder_sent_on = models.DateField(_("提醒发送日期"), null=True, blank=True)
    reminder_error = models.CharField(_("提醒失败原因"), max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("履约保证金")
        verbose_name_plural = _("履约保证金")
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="bond_positive")]

    def __str__(self) -> str:
        return f"{self.contract.number} 履约保证金"


class BillingUpload(models.Model):
    """A large bill or success-count file: taken by the web request, stored, and read by a Celery worker
    (docs/adr/0080). Its state and the rows read so far are what the uploader's status page shows."""

    class Kind(models.TextChoices):
        CARRIER_BILL = "carrier_bill", _("运营商账单")
        SUCCESS_COUNTS = "success_counts", _("成功条数")

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="billing_uploads", verbose_name=_("合同")
    )
    year = models.PositiveSmallIntegerField(_("年"), null=True, blank=True)
    month = models.PositiveSmallIntegerField(_("月"), null=True, blank=True)
    file = models.FileField(_("文件"), upload_to="billing-uploads/%Y/%m/", max_length=200, blank=True)
    filename = models.CharField(_("文件名"), max_length=255)
    size = models.BigIntegerField(_("大小（字节）"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("上传人")
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始处理"), null=True, blank=True)
    finished_at = models.DateTimeField(_("处理完成"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.QUEUED)
    rows_read = models.PositiveIntegerField(_("已读行数"), default=0)
    error_code = models.CharField(_("错误代码"), max_length=40, blank=True)
    error_detail = models.TextField(_("错误"), blank=True)
    errors = models.JSONField(_("出错的行"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    carrier_bill = models.ForeignKey(
        CarrierBill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("账单")
    )
    success_import = models.ForeignKey(
        SuccessCountImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("导入")
    )

    class Meta:
        verbose_name = _("文件上传")
        verbose_name_plural = _("文件上传")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename}（{self.get_state_display()}）"
