"""Message intake: API requests become queued messages (the database is the queue).

One path serves the single and the batch endpoint: shape checks, idempotency by client_ref, the content and
recipient rules (`gateway.rules`), the daily limits, then one bulk INSERT and, after the commit, a wake-up for
the sender. A refused item queues nothing. Everything a batch needs is read once: the profile, templates,
forbidden words, links and scope segments, and the opt-outs and ported numbers of the batch's own numbers.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Lookup, Q
from django.utils import timezone
from redis.exceptions import RedisError

from contracts.selectors import contract_terms
from gateway import rules, scheduling
from gateway.models import (
    AllowedLink,
    ApiClient,
    ForbiddenWord,
    Message,
    MessageTemplate,
    NoticeType,
    OptOut,
    PortedNumber,
    ScopeSegment,
    SendingProfile,
)
from gateway.partitions import client_ref_guard
from gateway.services.ratelimit import counters_add
from gateway.wakeup import notify_sender
from sms_contract.exceptions import ApplicationError

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_BATCH = 1000
INVALID = "invalid"
RATE_LIMITED = "rate_limited"
_FIELDS = frozenset({"mobile", "template_code", "params", "content", "client_ref", "priority", "send_at"})
INVALID_SEND_AT = "invalid_send_at"


@dataclass
class Item:
    index: int
    mobile: Any
    template_code: str | None = None
    params: Any = None
    content: Any = None
    client_ref: str = ""
    priority: str | None = None
    send_at: Any = None
    rank: int = 1  # set by _timing
    not_before: datetime | None = None


@dataclass
class Outcome:
    """What happened to one item: accepted (`message_id`, `units`, `duplicate`) or refused (`code`, `detail`)."""

    index: int
    message_id: int | None = None
    units: int | None = None
    client_ref: str = ""
    duplicate: bool = False
    code: str | None = None
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.code is None


@dataclass
class _Context:
    client: ApiClient
    profile: SendingProfile
    data: rules.RuleData
    templates: dict[str, tuple[int, int, int]]  # code -> (template id, notice type id, validity hours)
    free_notice_type: NoticeType | None
    src_id: str
    now: datetime
    valid_until: dict[int, datetime] = field(default_factory=dict)  # validity hours -> deadline
    # template code -> (notice type's default priority, window start, window end)
    timing: dict[str, tuple] = field(default_factory=dict)


def parse_item(index: int, raw: object) -> Item:
    """Shape checks (types and sizes); content rules come later. Raises Refusal("invalid")."""
    if not isinstance(raw, dict):
        raise rules.Refusal(INVALID, "每条短信必须是 JSON 对象。")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise rules.Refusal(INVALID, "未知字段：" + ", ".join(unknown) + "。")
    if "mobile" not in raw:
        raise rules.Refusal(rules.INVALID_MOBILE, "缺少 mobile。")
    template_code = raw.get("template_code")
    content = raw.get("content")
    client_ref = raw.get("client_ref") or ""
    if template_code is not None and (not isinstance(template_code, str) or len(template_code) > 60):
        raise rules.Refusal(INVALID, "template_code 必须是不超过 60 字的字符串。")
    if template_code and content is not None:
        raise rules.Refusal(INVALID, "template_code 与 content 只能给一个。")
    if content is not None and not isinstance(content, str):
        raise rules.Refusal(INVALID, "content 必须是字符串。")
    if not isinstance(client_ref, str) or len(client_ref) > 64 or rules.CONTROL_CHARS.search(client_ref):
        raise rules.Refusal(INVALID, "client_ref 必须是不超过 64 字、不含控制字符的字符串。")
    priority = raw.get("priority")
    if priority is not None and priority not in scheduling.PRIORITIES:
        raise rules.Refusal(INVALID, "priority 必须是 urgent、normal 或 bulk。")
    send_at = raw.get("send_at")
    if send_at is not None and not isinstance(send_at, str):
        raise rules.Refusal(INVALID_SEND_AT, "send_at 必须是带时区的 ISO 8601 时间字符串。")
    return Item(
        index=index,
        mobile=raw["mobile"],
        template_code=template_code or None,
        params=raw.get("params"),
        content=content,
        client_ref=client_ref.strip(),
        priority=priority,
        send_at=send_at,
    )


class _AnyOf(Lookup):
    """`field = ANY(%s)` with the values as one array parameter (PostgreSQL)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


def _in(field_name: str, values: set[str]):
    """`field IN values`; on PostgreSQL one array parameter instead of a thousand for the ORM to prepare."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field_name}__in": values})
    return _AnyOf(F(field_name), values)


def _load_context(*, client: ApiClient, mobiles: set[str], now: datetime) -> _Context:
    profile = SendingProfile.objects.filter(contract_id=client.contract_id).first()
    if profile is None:
        raise ApplicationError(
            "service_not_configured", "No sending profile (signature, service code) for this contract.", status_code=503
        )
    src_id = profile.service_code + (client.sub_port.sub_port if client.sub_port_id else "")
    if len(src_id) > 21:
        raise ApplicationError(
            "service_not_configured", "Service code plus sub-port exceed 21 digits.", status_code=503
        )
    templates = {t.code: t for t in MessageTemplate.objects.select_related("notice_type")}
    free_type = NoticeType.objects.filter(code=settings.GATEWAY_FREE_CONTENT_NOTICE_TYPE).first()
    terms = contract_terms(client.contract)
    data = rules.RuleData(
        limits=rules.Limits(
            signature=profile.signature, max_units=settings.GATEWAY_MAX_UNITS, unit_chars=terms.billing_unit_chars
        ),
        scope_prefixes=frozenset(ScopeSegment.objects.values_list("prefix", flat=True)),
        ported=dict(PortedNumber.objects.filter(_in("mobile", mobiles)).values_list("mobile", "direction")),
        opted_out=set(OptOut.objects.filter(_in("mobile", mobiles), opted_out=True).values_list("mobile", flat=True)),
        templates={
            t.code: rules.TemplateInfo(
                code=t.code,
                text=t.text,
                notice_type_code=t.notice_type.code,
                registered=t.registration == MessageTemplate.Registration.REGISTERED,
                enabled=t.enabled,
            )
            for t in templates.values()
        },
        forbidden_words=tuple(ForbiddenWord.objects.values_list("word", flat=True)),
        allowed_links=tuple(AllowedLink.objects.values_list("prefix", flat=True)),
        allow_free_content=client.allow_free_content,
    )
    by_code = {t.code: (t.pk, t.notice_type_id, t.notice_type.validity_hours) for t in templates.values()}
    ctx = _Context(client, profile, data, by_code, free_type, src_id, now)
    ctx.timing = {t.code: (t.notice_type.default_priority, t.window_start, t.window_end) for t in templates.values()}
    return ctx


def _hours(ctx: _Context, prepared: rules.Prepared) -> int:
    if prepared.template_code:
        return ctx.templates[prepared.template_code][2]
    if ctx.free_notice_type is not None:
        return ctx.free_notice_type.validity_hours
    return settings.GATEWAY_DEFAULT_VALIDITY_HOURS


def _timing(ctx: _Context, item: Item, prepared: rules.Prepared) -> None:
    """The item's priority rank and `not_before` (send_at, then the template's window); refuses a send_at
    that is malformed or after the validity (Refusal invalid_send_at)."""
    if prepared.template_code:
        default, start, end = ctx.timing[prepared.template_code]
    else:
        default = ctx.free_notice_type.default_priority if ctx.free_notice_type is not None else None
        start = end = None
    item.rank = scheduling.priority_rank(item.priority, default)
    valid_until = ctx.now + timedelta(hours=_hours(ctx, prepared))
    try:
        send_at = scheduling.parse_send_at(item.send_at, now=ctx.now, valid_until=valid_until)
    except ValueError as exc:
        raise rules.Refusal(INVALID_SEND_AT, str(exc)) from None
    item.not_before = scheduling.earliest_send(now=ctx.now, send_at=send_at, start=start, end=end)


def _candidate_mobiles(items: list[Item]) -> set[str]:
    """The numbers to prefetch opt-outs and porting for (normalised where possible)."""
    found = set()
    for item in items:
        with contextlib.suppress(rules.Refusal):
            found.add(rules.normalize_mobile(item.mobile))
    return found


def _message_row(ctx: _Context, item: Item, prepared: rules.Prepared) -> dict:
    """The columns that differ between the messages of one request (the rest: `_batch_constants`)."""
    if prepared.template_code:
        template_id, notice_type_id, hours = ctx.templates[prepared.template_code]
    elif ctx.free_notice_type is not None:
        notice_type_id, template_id, hours = ctx.free_notice_type.pk, None, ctx.free_notice_type.validity_hours
    else:
        notice_type_id, template_id, hours = None, None, settings.GATEWAY_DEFAULT_VALIDITY_HOURS
    if hours not in ctx.valid_until:
        ctx.valid_until[hours] = ctx.now + timedelta(hours=hours)
    return {
        "client_ref": item.client_ref,
        "mobile": prepared.mobile,
        "notice_type_id": notice_type_id,
        "template_id": template_id,
        "content": prepared.content,
        "units": prepared.units,
        "segments": prepared.segments,
        "valid_until": ctx.valid_until.get(hours)
        or ctx.valid_until.setdefault(hours, ctx.now + timedelta(hours=hours)),
        "priority": item.rank,
        "not_before": item.not_before,
    }


def _batch_constants(ctx: _Context) -> dict:
    return {
        "contract_id": ctx.client.contract_id,
        "client_id": ctx.client.pk,
        "src_id": ctx.src_id,
        "status": Message.Status.QUEUED,
        "created_at": ctx.now,
    }


def _bulk_insert(rows: list[dict], constants: dict) -> list[int]:
    """INSERT the rows in one statement; returns their ids in order.

    On PostgreSQL the rows travel as one array per column (INSERT ... SELECT FROM unnest(...)), which skips
    the ORM's per-value preparation: for 1,000 rows that is most of the request's time. Columns the intake
    does not set get their model default, so a field added later with a default needs no change here.
    """
    if connection.vendor != "postgresql":
        objs = Message.objects.bulk_create([Message(**constants, **row) for row in rows])
        return [obj.pk for obj in objs]
    columns, selects, select_params, arrays, array_params = [], [], [], [], []
    for f in Message._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        db_type = "text" if f.get_internal_type() in ("CharField", "TextField") else f.db_type(connection)
        if f.attname in rows[0]:
            arrays.append(f"%s::{db_type}[]")
            array_params.append([row[f.attname] for row in rows])
            selects.append(f"u.c{len(arrays)}")
        else:
            selects.append(f"%s::{db_type}")
            select_params.append(constants[f.attname] if f.attname in constants else f.get_default())
    names = ", ".join(f"c{i}" for i in range(1, len(arrays) + 1))
    # Identifiers come from the model; every value is a parameter.
    table = connection.ops.quote_name(Message._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selects)} "  # noqa: S608
    sql += f"FROM unnest({', '.join(arrays)}) AS u({names}) RETURNING id"
    with connection.cursor() as cursor:
        cursor.execute(sql, select_params + array_params)
        return [row[0] for row in cursor.fetchall()]


def _reserve_limits(client: ApiClient, accepted: list[tuple[Item, rules.Prepared]], now: datetime):
    """Count the accepted items against the daily limits; returns (allowed, refused, give_back)."""
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    client_limit = settings.GATEWAY_CLIENT_DAILY_LIMIT
    mobile_limit = settings.GATEWAY_MOBILE_DAILY_LIMIT
    client_key = f"gw:rl:c:{client.pk}:{day}"
    per_mobile = Counter(p.mobile for _, p in accepted)
    deltas: dict[str, int] = {}
    if client_limit:
        deltas[client_key] = len(accepted)
    if mobile_limit:
        deltas.update({f"gw:rl:m:{m}:{day}": n for m, n in per_mobile.items()})
    totals = counters_add(deltas)
    client_nth = totals.get(client_key, 0) - len(accepted)
    mobile_nth = {m: totals.get(f"gw:rl:m:{m}:{day}", 0) - n for m, n in per_mobile.items()}
    allowed, refused, give_back = [], [], Counter()
    for item, prepared in accepted:
        client_nth += 1
        mobile_nth[prepared.mobile] += 1
        if client_limit and client_nth > client_limit:
            refused.append((item, f"该客户端今日已达上限 {client_limit} 条。"))
        elif mobile_limit and mobile_nth[prepared.mobile] > mobile_limit:
            refused.append((item, f"该号码今日已达上限 {mobile_limit} 条。"))
        else:
            allowed.append((item, prepared))
            continue
        if client_limit:
            give_back[client_key] -= 1
        if mobile_limit:
            give_back[f"gw:rl:m:{prepared.mobile}:{day}"] -= 1
    return allowed, refused, give_back, (client_key if client_limit else None, day)


def _release(allowed: list[tuple[Item, rules.Prepared]], client_key: str | None, day: str) -> None:
    deltas: Counter = Counter()
    if client_key:
        deltas[client_key] -= len(allowed)
    if settings.GATEWAY_MOBILE_DAILY_LIMIT:
        for _, prepared in allowed:
            deltas[f"gw:rl:m:{prepared.mobile}:{day}"] -= 1
    counters_add(deltas)


def _existing_refs(client: ApiClient, refs: set[str]) -> dict[str, tuple[int, int]]:
    if not refs:
        return {}
    # exclude(client_ref="") repeats the unique index's condition, so PostgreSQL uses that partial index.
    rows = (
        Message.objects.filter(_in("client_ref", refs), client=client)
        .exclude(client_ref="")
        .values_list("client_ref", "pk", "units")
    )
    return {ref: (pk, units) for ref, pk, units in rows}


def messages_submit(*, client: ApiClient, raw_items: list, now: datetime | None = None) -> list[Outcome]:
    """Take in a list of message requests; returns one Outcome per item, in order.

    Accepted items are committed before this returns. An item whose client_ref this client already used is
    answered with the first message (`duplicate=True`) and queues nothing.
    """
    if not client.may_send:
        raise ApplicationError("send_not_allowed", "This API client may not send messages.", status_code=403)
    if len(raw_items) > MAX_BATCH:
        raise ApplicationError("batch_too_large", f"At most {MAX_BATCH} messages per batch.", status_code=400)
    now = now or timezone.now()
    outcomes: dict[int, Outcome] = {}
    items: list[Item] = []
    for index, raw in enumerate(raw_items):
        try:
            items.append(parse_item(index, raw))
        except rules.Refusal as refusal:
            outcomes[index] = Outcome(index, code=refusal.code, detail=refusal.detail)

    items = _answer_known_refs(client, items, outcomes)
    ctx = _load_context(client=client, mobiles=_candidate_mobiles(items), now=now)
    passed: list[tuple[Item, rules.Prepared]] = []
    for item in items:
        try:
            prepared = rules.prepare_message(
                mobile=item.mobile,
                data=ctx.data,
                template_code=item.template_code,
                params=item.params,
                content=item.content,
            )
            _timing(ctx, item, prepared)
        except rules.Refusal as refusal:
            outcomes[item.index] = Outcome(
                item.index, client_ref=item.client_ref, code=refusal.code, detail=refusal.detail
            )
        else:
            passed.append((item, prepared))

    try:
        allowed, limited, give_back, (client_key, day) = _reserve_limits(client, passed, now)
        counters_add(give_back)
    except (RedisError, OSError) as exc:
        logger.warning("daily limit counters (Redis) unavailable, counting in the database: %s", exc)
        _submit_counting_in_db(ctx, passed, outcomes, now)
        return [outcomes[i] for i in range(len(raw_items))]
    for item, detail in limited:
        outcomes[item.index] = Outcome(item.index, client_ref=item.client_ref, code=RATE_LIMITED, detail=detail)
    try:
        allowed = _insert(ctx, allowed, outcomes)
    except BaseException:
        _release(allowed, client_key, day)
        raise
    return [outcomes[i] for i in range(len(raw_items))]


# One lock for every intake that counts its limits in the database (Redis away): the count and the INSERT
# must not interleave with another request's, or two batches could both fit under a limit only one fits.
_DB_LIMITS_LOCK = 0x12123_0001


def _submit_counting_in_db(ctx: _Context, passed: list[tuple[Item, rules.Prepared]], outcomes: dict, now: datetime):
    """The daily limits counted from the messages table (PostgreSQL is the source of truth) while Redis is
    away: today's (Asia/Shanghai) messages of the client and of each number, under one advisory lock held
    until the batch is committed. Slower than the Redis counters, but intake keeps accepting."""
    client = ctx.client
    local = now.astimezone(SHANGHAI)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    client_limit = settings.GATEWAY_CLIENT_DAILY_LIMIT
    mobile_limit = settings.GATEWAY_MOBILE_DAILY_LIMIT
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DB_LIMITS_LOCK])
        client_nth = Message.objects.filter(client=client, created_at__gte=day_start).count() if client_limit else 0
        mobiles = {p.mobile for _, p in passed}
        mobile_nth: Counter = Counter()
        if mobile_limit and mobiles:
            mobile_nth.update(
                dict(
                    Message.objects.filter(_in("mobile", mobiles), created_at__gte=day_start)
                    .values_list("mobile")
                    .annotate(n=Count("id"))
                )
            )
        allowed = []
        for item, prepared in passed:
            if client_limit and client_nth + 1 > client_limit:
                detail = f"该客户端今日已达上限 {client_limit} 条。"
            elif mobile_limit and mobile_nth[prepared.mobile] + 1 > mobile_limit:
                detail = f"该号码今日已达上限 {mobile_limit} 条。"
            else:
                client_nth += 1
                mobile_nth[prepared.mobile] += 1
                allowed.append((item, prepared))
                continue
            outcomes[item.index] = Outcome(item.index, client_ref=item.client_ref, code=RATE_LIMITED, detail=detail)
        _insert(ctx, allowed, outcomes)


def _answer_known_refs(client: ApiClient, items: list[Item], outcomes: dict[int, Outcome]) -> list[Item]:
    """Items whose client_ref is already stored get the stored message; the rest go on."""
    known = _existing_refs(client, {i.client_ref for i in items if i.client_ref})
    rest = []
    for item in items:
        if item.client_ref in known:
            pk, units = known[item.client_ref]
            outcomes[item.index] = Outcome(item.index, pk, units, item.client_ref, duplicate=True)
        else:
            rest.append(item)
    return rest


def _insert(ctx: _Context, allowed: list[tuple[Item, rules.Prepared]], outcomes: dict[int, Outcome]):
    """One INSERT for the batch. Repeated client_refs inside the batch point at the first; a race with another
    request on the same client_ref (the unique constraint) is resolved by answering with the winner's row."""
    for attempt in (1, 2):
        first_by_ref: dict[str, int] = {}
        rows: list[dict] = []
        row_items: list[Item] = []
        repeats: list[Item] = []
        for item, prepared in allowed:
            if item.client_ref and item.client_ref in first_by_ref:
                repeats.append(item)
                continue
            if item.client_ref:
                first_by_ref[item.client_ref] = item.index
            rows.append(_message_row(ctx, item, prepared))
            row_items.append(item)
        try:
            with transaction.atomic():
                client_ref_guard(client_id=ctx.client.id, refs=set(first_by_ref), now=ctx.now)
                ids = _bulk_insert(rows, _batch_constants(ctx)) if rows else []
                if rows:
                    transaction.on_commit(notify_sender)
        except IntegrityError:
            if attempt == 2:
                raise
            # Another request stored one of these client_refs meanwhile: answer those with the stored message.
            still = _answer_known_refs(ctx.client, [item for item, _ in allowed], outcomes)
            keep = {item.index for item in still}
            allowed = [(item, p) for item, p in allowed if item.index in keep]
            continue
        by_index = {}
        for item, row, pk in zip(row_items, rows, ids, strict=True):
            outcomes[item.index] = Outcome(item.index, pk, row["units"], item.client_ref)
            by_index[item.index] = (pk, row["units"])
        for item in repeats:
            pk, units = by_index[first_by_ref[item.client_ref]]
            outcomes[item.index] = Outcome(item.index, pk, units, item.client_ref, duplicate=True)
        return allowed
    return allowed
