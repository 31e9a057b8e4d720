"""Gateway data: nodes, sending profile, templates, sub-ports, scope, opt-outs, API clients, and the
message table, which is also the durable queue (claims with SELECT ... FOR UPDATE SKIP LOCKED).

Carrier Msg_Ids are unsigned 64-bit values; they are stored in signed BIGINT columns by two's complement
(`gateway.cmpp.msgid.msg_id_to_signed` / `msg_id_from_signed`), which is lossless.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.models import Contract
from sms_contract.masking import mask_mobile, mask_mobiles_in_text


class SendingProfile(models.Model):
    """The fixed signature and service code of a contract's traffic (3.1.9, Annex 3 part 1)."""

    contract = models.OneToOneField(
        Contract, on_delete=models.PROTECT, related_name="sending_profile", verbose_name=_("合同")
    )
    signature = models.CharField(_("签名"), max_length=20, default="【12123】")
    service_code = models.CharField(_("短信服务代码（Src_Id）"), max_length=21)
    service_id = models.CharField(_("业务代码（Service_Id）"), max_length=10)
    code_registered = models.BooleanField(
        _("服务代码已备案"), default=False, help_text=_("备案后服务代码不可更改（附件3第1项）。")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("签名与服务代码")
        verbose_name_plural = _("签名与服务代码")

    def __str__(self) -> str:
        return f"{self.signature} {self.service_code}"

    def clean(self) -> None:
        """A service code registered with the carrier cannot change (Annex 3 part 1); digits only."""

        if self.service_code and not self.service_code.isdigit():
            raise ValidationError({"service_code": _("服务代码只能是数字。")})
        if self.pk:
            old = SendingProfile.objects.filter(pk=self.pk).values("service_code", "code_registered").first()
            if old and old["code_registered"] and old["service_code"] != self.service_code:
                raise ValidationError({"service_code": _("服务代码已备案，不能更改。")})


class CarrierNode(models.Model):
    """One carrier gateway (ISMG) node. The sender keeps sessions to every enabled node (3.2.4)."""

    class Version(models.IntegerChoices):
        V20 = 0x20, "CMPP 2.0"
        V30 = 0x30, "CMPP 3.0"

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="carrier_nodes", verbose_name=_("合同")
    )
    name = models.CharField(_("名称"), max_length=50, unique=True)
    host = models.CharField(_("地址"), max_length=200)
    port = models.PositiveIntegerField(_("端口"), default=7890)
    version = models.PositiveSmallIntegerField(_("CMPP 版本"), choices=Version.choices, default=Version.V20)
    sp_id = models.CharField(_("企业代码（SP_Id）"), max_length=6)
    secret_encrypted = models.TextField(_("密码（加密存储）"), editable=False)
    service_id = models.CharField(_("业务代码"), max_length=10, blank=True)
    source_number = models.CharField(_("源号码"), max_length=21, blank=True)
    window = models.PositiveSmallIntegerField(_("滑动窗口"), default=16)
    rate_limit = models.PositiveIntegerField(_("速率上限（条/秒，0=不限）"), default=0)
    weight = models.PositiveSmallIntegerField(_("权重"), default=1)
    enabled = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords(excluded_fields=["secret_encrypted"])

    class Meta:
        verbose_name = _("运营商网关节点")
        verbose_name_plural = _("运营商网关节点")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Priority(models.TextChoices):
    """How soon a notice must go: urgent first, bulk never starved (a weighted share of each claim)."""

    URGENT = "urgent", _("紧急")
    NORMAL = "normal", _("普通")
    BULK = "bulk", _("批量")


# Message.priority stores the rank (the claim walks the queue index by rank, then id).
PRIORITY_RANK = {Priority.URGENT: 0, Priority.NORMAL: 1, Priority.BULK: 2}


class NoticeType(models.Model):
    """Kinds of notice (violation, licence, inspection reminders ...) with their validity."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    validity_hours = models.PositiveIntegerField(_("有效期（小时）"), default=24)
    # The priority of this type's notices when the request names none (road closures urgent, reminders bulk).
    default_priority = models.CharField(
        _("默认优先级"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("通知类型")
        verbose_name_plural = _("通知类型")

    def __str__(self) -> str:
        return self.name


class MessageTemplate(models.Model):
    """A message template registered with the carrier (3.1.15). Text uses {named} placeholders."""

    class Registration(models.TextChoices):
        PENDING = "pending", _("待报备")
        REGISTERED = "registered", _("已报备")
        REJECTED = "rejected", _("未通过")

    code = models.CharField(_("模板代码"), max_length=60, unique=True)
    notice_type = models.ForeignKey(NoticeType, on_delete=models.PROTECT, verbose_name=_("通知类型"))
    text = models.TextField(_("模板内容（不含签名）"))
    registration = models.CharField(
        _("报备状态"), max_length=20, choices=Registration.choices, default=Registration.PENDING
    )
    enabled = models.BooleanField(_("启用"), default=True)
    # The allowed sending window, Asia/Shanghai wall-clock time (e.g. 08:00-21:00 for reminders; none for urgent
    # notices). Start after end wraps past midnight. Messages outside it wait until it opens, within validity.
    window_start = models.TimeField(_("允许发送起（北京时间）"), null=True, blank=True)
    window_end = models.TimeField(_("允许发送止（北京时间）"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("短信模板")
        verbose_name_plural = _("短信模板")

    def __str__(self) -> str:
        return self.code


class SubPort(models.Model):
    """The sub-port register of 3.1.13; a sub-port is never shared between units (3.1.14)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="sub_ports", verbose_name=_("合同"))
    sub_port = models.CharField(_("子端口"), max_length=12, unique=True)
    using_unit = models.CharField(_("实际使用单位"), max_length=200)
    organisation_code = models.CharField(_("机构代码"), max_length=40)
    purpose = models.CharField(_("使用用途"), max_length=200)
    business_type = models.CharField(_("端口业务类型"), max_length=100, blank=True)
    valid_from = models.DateField(_("使用期限起"))
    valid_until = models.DateField(_("使用期限止"), null=True, blank=True)
    access_room = models.CharField(_("接入机房"), max_length=200, blank=True)
    equipment = models.CharField(_("接入设备"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("子端口登记")
        verbose_name_plural = _("子端口登记")

    def __str__(self) -> str:
        return f"{self.sub_port} {self.using_unit}"


class ApiClient(models.Model):
    """A caller of the REST API (the 12123 platform, the carrier's customer service) with an HMAC key."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="api_clients", verbose_name=_("合同"))
    name = models.CharField(_("名称"), max_length=100, unique=True)
    key_id = models.CharField(_("Key"), max_length=40, unique=True)
    secret_encrypted = models.TextField(editable=False, verbose_name=_("密钥（加密）"))
    previous_secret_encrypted = models.TextField(editable=False, blank=True, verbose_name=_("旧密钥（加密）"))
    previous_valid_until = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("旧密钥有效至"))
    allow_free_content = models.BooleanField(_("允许自由内容"), default=False)
    may_manage_optouts = models.BooleanField(_("可查询/办理退订"), default=True)
    may_send = models.BooleanField(_("可发送短信"), default=True)
    sub_port = models.ForeignKey(SubPort, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("子端口"))
    enabled = models.BooleanField(_("启用"), default=True)
    # Status events are POSTed here (signed like requests to us); empty: pull only (GET /api/v1/reports/).
    callback_url = models.URLField(_("回调地址"), max_length=500, blank=True)
    callback_submitted = models.BooleanField(
        _("推送“已提交”事件"), default=False, help_text=_("除最终状态外，也推送提交成功（submitted）事件。")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("创建时间"))
    history = HistoricalRecords(excluded_fields=["secret_encrypted", "previous_secret_encrypted"])

    class Meta:
        verbose_name = _("API 客户端")
        verbose_name_plural = _("API 客户端")

    def __str__(self) -> str:
        return self.name


class OptOut(models.Model):
    """A subscriber who unsubscribed (TD/退订 reply, the platform, or carrier customer service, 4.3)."""

    class Source(models.TextChoices):
        MO = "mo", _("用户回复退订")
        PLATFORM = "platform", _("12123 平台")
        CARRIER_CS = "carrier_cs", _("运营商客服")
        ADMIN = "admin", _("管理员")

    mobile = models.CharField(_("手机号码"), max_length=20, unique=True)
    opted_out = models.BooleanField(_("已退订"), default=True)
    since = models.DateTimeField(_("时间"))
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("退订")
        verbose_name_plural = _("退订")

    def __str__(self) -> str:
        # Titles, headings, history pages and admin log entries use this: masked for everyone (8.1).
        return mask_mobile(self.mobile)


class ScopeSegment(models.Model):
    """A number segment (prefix) inside the declared user scope: China Mobile's segments (3.1.5)."""

    prefix = models.CharField(_("号段"), max_length=7, unique=True)
    carrier = models.CharField(_("运营商"), max_length=20, default="cmcc")

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("号段（用户范围）")
        verbose_name_plural = _("号段（用户范围）")

    def __str__(self) -> str:
        return self.prefix


class PortedNumber(models.Model):
    """A number ported in to or out of China Mobile (携号转网, 3.2.3)."""

    class Direction(models.TextChoices):
        IN = "in", _("转入移动")
        OUT = "out", _("转出移动")

    mobile = models.CharField(_("手机号码"), max_length=20, unique=True)
    direction = models.CharField(_("方向"), max_length=4, choices=Direction.choices)
    since = models.DateField(_("生效日期"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("携号转网号码")
        verbose_name_plural = _("携号转网号码")

    def __str__(self) -> str:
        # Titles, headings, history pages and admin log entries use this: masked for everyone (8.1).
        return mask_mobile(self.mobile)


class ForbiddenWord(models.Model):
    word = models.CharField(_("禁用词"), max_length=100, unique=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("禁用词")
        verbose_name_plural = _("禁用词")

    def __str__(self) -> str:
        return self.word


class AllowedLink(models.Model):
    """A link prefix the purchaser allows in messages (3.1.16), e.g. https://gab.122.gov.cn/."""

    prefix = models.CharField(_("允许的链接前缀"), max_length=200, unique=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("允许的链接")
        verbose_name_plural = _("允许的链接")

    def __str__(self) -> str:
        return self.prefix


class Message(models.Model):
    """One notice to one subscriber. Rows with status `queued` are the send queue."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队")
        SUBMITTED = "submitted", _("已提交")
        DELIVERED = "delivered", _("已送达")
        FAILED = "failed", _("失败")
        EXPIRED = "expired", _("过期")
        # Accepted by the carrier, but no status report came within its validity plus a grace period (a
        # node that restarted lost it): final, so nothing waits forever. Counted in DailyCount.no_report_messages.
        NO_REPORT = "no_report", _("无状态报告")
        REJECTED = "rejected", _("拒绝")

    # The four references below have no database-level FK constraint: their checks cost about 45 ms per
    # 1,000 rows at COMMIT, as much as the INSERT itself. Rows are only written by the intake with ids it has
    # just read, and on_delete=PROTECT still guards deletes in Django (ADR 0030).
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="+", db_constraint=False, verbose_name=_("合同")
    )
    client = models.ForeignKey(
        ApiClient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("调用方"),
    )
    client_ref = models.CharField(_("调用方编号"), max_length=64, blank=True)
    mobile = models.CharField(_("手机号码"), max_length=20)
    notice_type = models.ForeignKey(
        NoticeType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("通知类型"),
    )
    template = models.ForeignKey(
        MessageTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("模板"),
    )
    content = models.TextField(_("内容（含签名）"))
    src_id = models.CharField(_("源号码"), max_length=21, blank=True)
    units = models.PositiveIntegerField(_("计费条数"))
    segments = models.PositiveSmallIntegerField(_("分段数"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    stat = models.CharField(_("状态报告"), max_length=16, blank=True)
    node = models.ForeignKey(
        CarrierNode, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("发送节点")
    )
    created_at = models.DateTimeField(_("接收时间"))
    valid_until = models.DateTimeField(_("有效期至"))
    lease_owner = models.CharField(max_length=64, blank=True, verbose_name=_("领取进程"))
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("领取有效至"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("尝试次数"))
    possible_duplicate = models.BooleanField(_("可能重复"), default=False)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("结束时间"))
    # 0 urgent, 1 normal, 2 bulk (PRIORITY_RANK).
    priority = models.PositiveSmallIntegerField(
        _("优先级"), default=1, db_default=1, choices=[(0, _("紧急")), (1, _("普通")), (2, _("批量"))]
    )
    # Not to be sent before this moment (send_at, or the template's window opening); NULL: may go now.
    not_before = models.DateTimeField(_("计划发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("短信")
        verbose_name_plural = _("短信")
        indexes = [
            # The queue: only queued rows that may go now are indexed, by priority then id, so claims stay fast
            # however large the table grows (and however many messages wait for their time).
            models.Index(
                fields=["priority", "id"],
                condition=Q(status="queued", not_before__isnull=True),
                name="message_queue_idx",
            ),
            # Messages waiting for send_at or their window: the scheduling sweep reads only these.
            models.Index(
                fields=["not_before"],
                condition=Q(status="queued", not_before__isnull=False),
                name="message_scheduled_idx",
            ),
            # Messages waiting for their report, by validity: the no-report sweep reads only these.
            models.Index(fields=["valid_until"], condition=Q(status="submitted"), name="message_awaiting_report_idx"),
            models.Index(fields=["created_at"], name="message_created_idx"),
            models.Index(fields=["mobile", "created_at"], name="message_mobile_idx"),
            # The admin list's filters on rare rows (a few % of the traffic), newest first: without these a
            # filter on a status nobody has this month reads every month backwards (ADR 0116).
            models.Index(
                fields=["id"],
                condition=Q(status__in=["failed", "expired", "no_report", "rejected"]),
                name="message_unsuccessful_idx",
            ),
            models.Index(fields=["id"], condition=Q(possible_duplicate=True), name="message_possible_dup_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "client_ref"], condition=~Q(client_ref=""), name="message_client_ref_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"


class MessageSegment(models.Model):
    """One CMPP segment of a message, with the carrier's Msg_Id and its status report."""

    # No database FK: on PostgreSQL messages are partitioned by month and their key is (id, created_at), which
    # a one-column reference cannot name (ADR 0115). Django still cascades deletes.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="segment_rows", db_constraint=False, verbose_name=_("短信")
    )
    pk_number = models.PositiveSmallIntegerField(verbose_name=_("分段序号"))
    carrier_msg_id = models.BigIntegerField(_("运营商 Msg_Id（二进制补码存储）"))
    node = models.ForeignKey(CarrierNode, on_delete=models.PROTECT, related_name="+", verbose_name=_("发送节点"))
    result = models.PositiveIntegerField(default=0, verbose_name=_("提交结果"))
    submitted_at = models.DateTimeField(verbose_name=_("提交时间"))
    stat = models.CharField(max_length=16, blank=True, verbose_name=_("状态报告"))
    reported_at = models.DateTimeField(null=True, blank=True, verbose_name=_("报告时间"))

    class Meta:
        verbose_name = _("短信分段")
        verbose_name_plural = _("短信分段")
        indexes = [models.Index(fields=["carrier_msg_id"], name="segment_msgid_idx")]

    def __str__(self) -> str:
        return f"{self.message_id}/{self.pk_number}"


class DailyCount(models.Model):
    """Per day (Asia/Shanghai), notice type and node: the counts billing and assessment read.

    Units per the contract's 70-character rule. `accepted_*`: SUBMIT_RESP result 0; `delivered_*`: DELIVRD.
    """

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+", verbose_name=_("合同"))
    day = models.DateField(verbose_name=_("日期"))
    notice_type = models.ForeignKey(
        NoticeType, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("通知类型")
    )
    node = models.ForeignKey(
        CarrierNode, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("发送节点")
    )
    accepted_messages = models.BigIntegerField(default=0, verbose_name=_("受理短信数"))
    accepted_units = models.BigIntegerField(default=0, verbose_name=_("受理计费条数"))
    delivered_messages = models.BigIntegerField(default=0, verbose_name=_("送达短信数"))
    delivered_units = models.BigIntegerField(default=0, verbose_name=_("送达计费条数"))
    failed_messages = models.BigIntegerField(default=0, verbose_name=_("失败短信数"))
    refused_segments = models.BigIntegerField(default=0, verbose_name=_("被拒分段数"))
    # Accepted messages that got no status report within validity + GATEWAY_NO_REPORT_GRACE_SECONDS.
    no_report_messages = models.BigIntegerField(_("无状态报告条数"), default=0)

    class Meta:
        verbose_name = _("每日发送统计")
        verbose_name_plural = _("每日发送统计")
        constraints = [
            # One row per contract, day, notice type and node, a missing type or node counting as one value.
            # COALESCE to 0 (ids start at 1) instead of NULLS NOT DISTINCT, which SQLite lacks (models.W047):
            # the same unique index on both databases. gateway.sender.store's ON CONFLICT names these expressions.
            models.UniqueConstraint(
                "contract",
                "day",
                Coalesce("notice_type", Value(0), output_field=models.BigIntegerField()),
                Coalesce("node", Value(0), output_field=models.BigIntegerField()),
                name="dailycount_unique",
            ),
        ]
        indexes = [models.Index(fields=["contract", "day"], name="dailycount_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.accepted_units}"


# --- sender ---
class NodeStateChange(models.Model):
    """A node's health as one sender process saw it change. `month_evidence` reads this to compute the
    time with fewer than two healthy nodes (3.2.4)."""

    node = models.ForeignKey(
        CarrierNode, on_delete=models.CASCADE, related_name="state_changes", verbose_name=_("节点")
    )
    at = models.DateTimeField(_("时间"))
    healthy = models.BooleanField(_("可用"))
    state = models.CharField(_("状态"), max_length=20)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    sender = models.CharField(_("发送进程"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("节点状态变化")
        verbose_name_plural = _("节点状态变化")
        indexes = [models.Index(fields=["at"], name="nodestate_at_idx")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.state} {self.at:%Y-%m-%d %H:%M:%S}"


class UnmatchedReport(models.Model):
    """A status report whose Msg_Id matched no segment we sent, kept for inspection."""

    carrier_msg_id = models.BigIntegerField(_("运营商 Msg_Id（二进制补码存储）"))
    stat = models.CharField(_("状态"), max_length=16)
    mobile = models.CharField(_("手机号码"), max_length=21, blank=True)
    node = models.ForeignKey(
        CarrierNode, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("节点")
    )
    submit_time = models.CharField(max_length=10, blank=True, verbose_name=_("提交时间（报告）"))
    done_time = models.CharField(max_length=10, blank=True, verbose_name=_("完成时间（报告）"))
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = _("未匹配的状态报告")
        verbose_name_plural = _("未匹配的状态报告")
        indexes = [models.Index(fields=["carrier_msg_id"], name="unmatched_msgid_idx")]

    def __str__(self) -> str:
        return f"{self.carrier_msg_id} {self.stat}"


class UplinkMessage(models.Model):
    """An uplink (MO) text from a subscriber; TD/T/退订 opt the subscriber out (4.3)."""

    mobile = models.CharField(_("手机号码"), max_length=21)
    dest_id = models.CharField(_("目的号码"), max_length=21, blank=True)
    text = models.TextField(_("内容"), blank=True)
    node = models.ForeignKey(
        CarrierNode, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("节点")
    )
    opt_out = models.BooleanField(_("退订指令"), default=False)
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = _("上行短信")
        verbose_name_plural = _("上行短信")
        indexes = [models.Index(fields=["received_at"], name="uplink_received_idx")]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {mask_mobiles_in_text(self.text[:20])}"


# --- api ---
class ApiNonce(models.Model):
    """A request nonce seen recently (HMAC replay protection when no Redis is configured)."""

    key_id = models.CharField(max_length=40)
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("请求随机数")
        verbose_name_plural = _("请求随机数")
        constraints = [models.UniqueConstraint(fields=["key_id", "nonce"], name="apinonce_unique")]
        indexes = [models.Index(fields=["seen_at"], name="apinonce_seen_idx")]

    def __str__(self) -> str:
        return self.nonce


# --- status events (callbacks and the pull feed) ---
class MessageEvent(models.Model):
    """A status change of a message for its API client: the outbox of callbacks and the rows of the pull feed.

    Written in the same transaction as the status change (`gateway.callbacks.outbox.events_record`), at most one
    per message and status. `delivery`: `pending` (to POST to the client's callback URL), `sent`, `dead` (24 h
    of retries failed; re-sendable in the admin) or `none` (the client has no callback URL: pull only).
    `feed_seq` orders the client's pull feed; it is given under a per-client lock when the feed is read, so it
    follows commit order (ids do not).
    """

    class Delivery(models.TextChoices):
        PENDING = "pending", _("待推送")
        SENT = "sent", _("已推送")
        DEAD = "dead", _("死信")
        NONE = "none", _("仅拉取")

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, related_name="+", db_constraint=False, verbose_name=_("调用方")
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="+", db_constraint=False, verbose_name=_("短信")
    )
    client_ref = models.CharField(_("调用方编号"), max_length=64, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Message.Status.choices)
    stat = models.CharField(_("状态报告"), max_length=16, blank=True)
    at = models.DateTimeField(_("时间"))
    units = models.PositiveIntegerField(_("计费条数"))
    segments = models.PositiveSmallIntegerField(_("分段数"))
    node = models.ForeignKey(
        CarrierNode,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("发送节点"),
    )
    delivery = models.CharField(_("推送状态"), max_length=8, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveIntegerField(_("推送次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次推送"), null=True, blank=True)
    first_failed_at = models.DateTimeField(_("首次失败"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("推送成功时间"), null=True, blank=True)
    feed_seq = models.BigIntegerField(_("拉取序号"), null=True, blank=True)

    class Meta:
        verbose_name = _("状态事件")
        verbose_name_plural = _("状态事件")
        constraints = [models.UniqueConstraint(fields=["message", "status"], name="messageevent_once")]
        indexes = [
            # The callback worker's queue: per client, oldest first, pending rows only.
            models.Index(fields=["client", "id"], condition=Q(delivery="pending"), name="messageevent_pending_idx"),
            models.Index(fields=["client", "id"], condition=Q(delivery="dead"), name="messageevent_dead_idx"),
            # The pull feed: events not yet numbered, and the numbered ones by number.
            models.Index(fields=["client", "id"], condition=Q(feed_seq__isnull=True), name="messageevent_unfed_idx"),
            models.Index(fields=["client", "feed_seq"], name="messageevent_feed_idx"),
            models.Index(fields=["at"], name="messageevent_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"
