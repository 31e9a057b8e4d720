"""Defaults for a new contract's gateway data: signature and service code, China Mobile's number segments,
notice types and registered demo templates. Idempotent: existing rows are left as they are."""

from datetime import time

from django.db import transaction

from contracts.models import Contract
from gateway.models import AllowedLink, MessageTemplate, NoticeType, ScopeSegment, SendingProfile

# China Mobile segments (3.1.5): 134-139 except 1349 (satellite), so 134 is listed as 1340-1348.
CMCC_SEGMENTS = (
    *(f"134{d}" for d in range(9)),
    "135", "136", "137", "138", "139",
    "147", "148",
    "150", "151", "152", "157", "158", "159",
    "165",
    "172", "178",
    "182", "183", "184", "187", "188",
    "195", "197", "198",
)  # fmt: skip

NOTICE_TYPES = (
    # (code, name, validity hours)
    ("violation", "违法告知", 72),
    ("licence", "驾驶证业务提醒", 72),
    ("inspection", "机动车年检提醒", 72),
    ("general", "通用通知", 24),
    ("emergency", "道路管制与紧急通知", 6),
)
# Notice types whose notices are not `normal` unless the request says so (issue 15).
PRIORITIES = {"emergency": "urgent", "inspection": "bulk"}
# Reminders go only by day (Asia/Shanghai); urgent notices have no window.
WINDOWS = {"inspection_due": (time(8), time(21)), "licence_renewal": (time(8), time(21))}

TEMPLATES = (
    # (code, notice type, text)
    (
        "violation_notice",
        "violation",
        "您的机动车{plate}于{time}在{place}有交通违法行为，请及时到交警部门或通过交管12123 App处理。",
    ),
    ("licence_renewal", "licence", "您的驾驶证将于{date}有效期满，请在期满前90日内申请换证。"),
    ("licence_score", "licence", "您的驾驶证本周期已记{points}分，请注意安全驾驶。"),
    ("inspection_due", "inspection", "您的机动车{plate}检验有效期至{date}，请按期检验。"),
    ("general_notice", "general", "您有一项交管业务需要办理：{item}，详情请登录交管12123 App查看。"),
    ("road_closure", "emergency", "{road}因{reason}于{time}起临时交通管制，请绕行。"),
)

ALLOWED_LINKS = ("https://gab.122.gov.cn/", "https://js.122.gov.cn/")


@transaction.atomic
def gateway_seed_defaults(*, contract: Contract) -> SendingProfile:
    profile, _ = SendingProfile.objects.get_or_create(
        contract=contract,
        defaults={"signature": "【12123】", "service_code": "1065712123", "service_id": "JTJ12123"},
    )
    for prefix in CMCC_SEGMENTS:
        ScopeSegment.objects.get_or_create(prefix=prefix, defaults={"carrier": "cmcc"})
    types = {}
    for code, name, hours in NOTICE_TYPES:
        types[code], _ = NoticeType.objects.get_or_create(
            code=code,
            defaults={"name": name, "validity_hours": hours, "default_priority": PRIORITIES.get(code, "normal")},
        )
    for code, type_code, text in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            code=code,
            defaults={
                "notice_type": types[type_code],
                "text": text,
                "registration": MessageTemplate.Registration.REGISTERED,
                "window_start": WINDOWS.get(code, (None, None))[0],
                "window_end": WINDOWS.get(code, (None, None))[1],
            },
        )
    for prefix in ALLOWED_LINKS:
        AllowedLink.objects.get_or_create(prefix=prefix)
    return profile
