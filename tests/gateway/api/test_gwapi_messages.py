"""The message endpoints: queueing, refusals, idempotency, batches, reading back."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from factories.gateway import TEST_SECRET, CarrierNodeFactory, MessageFactory

from gateway.apiclient import ApiError, signed_headers
from gateway.models import Message, MessageSegment, OptOut, PortedNumber, SubPort
from gateway.services import intake

VIOLATION = {"plate": "苏C12345", "time": "2026年11月1日8时", "place": "中山北路"}


def send_error(api, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as info:
        api.send(**kwargs)
    return info.value


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


def test_template_message_is_queued_with_signature_src_id_and_validity(make_api, gateway):
    port = SubPort.objects.create(
        contract=gateway, sub_port="01", using_unit="徐州交警", organisation_code="X1", purpose="通知",
        valid_from="2026-01-01",
    )  # fmt: skip
    _, api = make_api(sub_port=port)
    answer = api.send(mobile="13912345678", template_code="violation_notice", params=VIOLATION, client_ref="r1")
    assert answer["status"] == "queued" and answer["units"] == 1 and answer["client_ref"] == "r1"
    message = Message.objects.get(pk=answer["id"])
    assert message.content.startswith("【12123】您的机动车苏C12345于2026年11月1日8时在中山北路")
    assert message.src_id == "106571212301"
    assert message.template.code == "violation_notice" and message.notice_type.code == "violation"
    assert message.valid_until - message.created_at == timedelta(hours=72)
    assert message.status == "queued" and message.segments == 1


def test_free_content_uses_the_general_validity(free_api):
    answer = free_api.send(mobile="+86 139 1234 5678", content="您好，请注意安全。")
    message = Message.objects.get(pk=answer["id"])
    assert message.mobile == "13912345678" and message.content == "【12123】您好，请注意安全。"
    assert message.valid_until - message.created_at == timedelta(hours=24)


def test_free_content_is_refused_for_template_only_clients(api):
    error = send_error(api, mobile="13912345678", content="您好")
    assert (error.status, error.code) == (403, "free_content_not_allowed")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"mobile": "12345"}, "invalid_mobile"),
        ({"mobile": "13312345678"}, "out_of_scope"),
        ({"mobile": "13900000002"}, "out_of_scope"),  # ported out
        ({"mobile": "13900000001"}, "opted_out"),
        ({"mobile": "13912345678", "template_code": "nope"}, "unknown_template"),
        (
            {"mobile": "13912345678", "template_code": "violation_notice", "params": {"plate": "苏C1"}},
            "template_params",
        ),
        ({"mobile": "13912345678", "content": " "}, "empty_content"),
        ({"mobile": "13912345678", "content": "这里有赌博"}, "forbidden_content"),
        ({"mobile": "13912345678", "content": "见 http://bad.example/"}, "link_not_allowed"),
        ({"mobile": "13912345678", "content": "字" * 700}, "too_long"),
    ],
)
def test_every_refusal_code_queues_nothing(free_api, kwargs, code):
    from gateway.models import ForbiddenWord

    ForbiddenWord.objects.create(word="赌博")
    OptOut.objects.create(mobile="13900000001", since="2026-01-01T00:00:00+08:00", source="mo")
    PortedNumber.objects.create(mobile="13900000002", direction="out")
    kwargs.setdefault("content", None) if "template_code" in kwargs else kwargs.setdefault("content", "您好")
    error = send_error(free_api, **kwargs)
    assert (error.status, error.code) == (400, code)
    assert error.detail
    assert not Message.objects.exists()


def test_too_long_limit_follows_the_setting(free_api, settings):
    settings.GATEWAY_MAX_UNITS = 1
    assert free_api.send(mobile="13912345678", content="字" * 63)["units"] == 1
    assert send_error(free_api, mobile="13912345678", content="字" * 64).code == "too_long"


def test_rate_limited_per_mobile_per_day(free_api, settings):
    settings.GATEWAY_MOBILE_DAILY_LIMIT = 2
    for _ in range(2):
        free_api.send(mobile="13912345678", content="您好")
    error = send_error(free_api, mobile="13912345678", content="您好")
    assert (error.status, error.code) == (429, "rate_limited")
    assert free_api.send(mobile="13812345678", content="您好")["status"] == "queued"
    assert Message.objects.count() == 3


def test_rate_limited_per_client_per_day(make_api, settings):
    settings.GATEWAY_CLIENT_DAILY_LIMIT = 3
    _, first = make_api(allow_free_content=True)
    _, second = make_api(allow_free_content=True)
    result = first.send_batch([{"mobile": f"1391234567{i}", "content": "您好"} for i in range(5)])
    assert [a["index"] for a in result["accepted"]] == [0, 1, 2]
    assert {r["code"] for r in result["rejected"]} == {"rate_limited"}
    assert second.send(mobile="13912345678", content="您好")["status"] == "queued"


def test_refused_items_do_not_use_up_the_limit(free_api, settings):
    settings.GATEWAY_MOBILE_DAILY_LIMIT = 1
    result = free_api.send_batch([{"mobile": "13912345678", "content": ""}, {"mobile": "13912345678", "content": "x"}])
    assert [r["code"] for r in result["rejected"]] == ["empty_content"]  # the good one used the only slot
    assert send_error(free_api, mobile="13912345678", content="您好").code == "rate_limited"
    assert free_api.send(mobile="13812345678", content="您好")["status"] == "queued"


def test_a_batch_of_long_notices_fits_in_one_request(make_api):
    # 1,000 notices of 10 units, sent as ASCII-escaped JSON (6 bytes per character): about 4.2 MB.
    row, _ = make_api(allow_free_content=True)
    items = [{"mobile": f"139{i:08d}", "content": "字" * 690} for i in range(1000)]
    body = json.dumps({"messages": items}).encode()
    assert len(body) > 4_000_000
    headers = signed_headers(row.key_id, TEST_SECRET, "POST", "/api/v1/messages/batch/", body)
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    response = Client().post("/api/v1/messages/batch/", data=body, content_type="application/json", **meta)
    assert response.status_code == 202, response.content[:300]
    assert len(response.json()["accepted"]) == 1000


def test_same_client_ref_returns_the_first_message_and_sends_nothing_more(free_api):
    first = free_api.send(mobile="13912345678", content="您好", client_ref="ref-1")
    again = free_api.send(mobile="13812345678", content="别的", client_ref="ref-1")
    assert again["id"] == first["id"] and again["status"] == "queued"
    assert Message.objects.count() == 1


def test_same_client_ref_from_another_client_is_independent(make_api):
    _, a = make_api(allow_free_content=True)
    _, b = make_api(allow_free_content=True)
    assert (
        a.send(mobile="13912345678", content="x", client_ref="r")["id"]
        != b.send(mobile="13912345678", content="x", client_ref="r")["id"]
    )


def test_client_ref_race_answers_with_the_stored_row(make_api, monkeypatch):
    row, api = make_api(allow_free_content=True)
    stored = api.send(mobile="13912345678", content="x", client_ref="race")
    real = intake._existing_refs
    calls = []

    def late_lookup(client, refs):  # the first lookup misses the row, as if it were committed a moment later
        calls.append(refs)
        return {} if len(calls) == 1 else real(client, refs)

    monkeypatch.setattr(intake, "_existing_refs", late_lookup)
    (outcome,) = intake.messages_submit(
        client=row, raw_items=[{"mobile": "13912345678", "content": "x", "client_ref": "race"}]
    )
    assert outcome.duplicate and outcome.message_id == stored["id"]
    assert Message.objects.count() == 1


def test_batch_accepts_good_items_and_reports_the_rest(free_api):
    result = free_api.send_batch(
        [
            {"mobile": "13912345678", "template_code": "licence_score", "params": {"points": "3"}, "client_ref": "b0"},
            {"mobile": "123", "content": "x"},
            {"mobile": "13812345678", "content": "您好", "client_ref": "b2"},
            {"mobile": "13812345678", "content": "again", "client_ref": "b2"},
            "not an object",
            {"mobile": "13712345678", "content": "x", "colour": "red"},
        ]
    )
    assert [a["index"] for a in result["accepted"]] == [0, 2, 3]
    assert result["accepted"][2] == {"index": 3, "id": result["accepted"][1]["id"], "units": 1, "duplicate": True}
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "invalid_mobile"),
        (4, "invalid"),
        (5, "invalid"),
    ]
    assert Message.objects.count() == 2
    again = free_api.send_batch([{"mobile": "13912345678", "content": "x", "client_ref": "b0"}])
    assert again["accepted"][0]["duplicate"] is True
    assert Message.objects.count() == 2


def test_batch_of_1000_in_one_go_and_1001_refused(free_api):
    items = [{"mobile": f"139{i:08d}", "content": "您好"} for i in range(1000)]
    assert len(free_api.send_batch(items)["accepted"]) == 1000
    with pytest.raises(ApiError) as info:
        free_api.send_batch(items + [items[0]])
    assert (info.value.status, info.value.code) == (400, "batch_too_large")
    with pytest.raises(ApiError) as info:
        free_api.send_batch([])
    assert info.value.code == "invalid"


def test_client_without_send_permission(make_api):
    _, api = make_api(may_send=False)
    assert send_error(api, mobile="13912345678", template_code="licence_score", params={"points": 1}).status == 403


def test_reading_a_message_back_with_carrier_msg_ids(free_api, gateway):
    answer = free_api.send(mobile="13912345678", content="字" * 100, client_ref="long")
    node = CarrierNodeFactory(contract=gateway, name="xz-1")
    message = Message.objects.get(pk=answer["id"])
    Message.objects.filter(pk=message.pk).update(status="delivered", node=node, stat="DELIVRD")
    big = 0xFEDCBA9876543210  # above 2**63: stored as a negative BIGINT
    for number, value in ((1, big), (2, 12345)):
        MessageSegment.objects.create(
            message=message, pk_number=number, carrier_msg_id=value - (1 << 64) if value >= 1 << 63 else value,
            node=node, submitted_at=message.created_at,
        )  # fmt: skip
    data = free_api.get(answer["id"])
    assert data["status"] == "delivered" and data["node"] == "xz-1" and data["stat"] == "DELIVRD"
    assert data["carrier_msg_ids"] == [str(big), "12345"]
    assert data["mobile"] == "13912345678" and data["segments"] == 2 and data["units"] == 2
    assert free_api.by_client_ref("long")["id"] == answer["id"]


def test_a_client_sees_only_its_own_messages(make_api, gateway):
    _, mine = make_api(allow_free_content=True)
    _, other = make_api(allow_free_content=True)
    answer = other.send(mobile="13912345678", content="x", client_ref="theirs")
    with pytest.raises(ApiError) as info:
        mine.get(answer["id"])
    assert info.value.status == 404
    with pytest.raises(ApiError):
        mine.by_client_ref("theirs")


def test_staff_see_masked_numbers_unless_permitted(api_as, make_user, police_user, gateway):
    message = MessageFactory(contract=gateway, mobile="13912345678")
    masked = api_as(make_user("auditor")).get(f"/api/v1/messages/{message.pk}/").json()
    assert masked["mobile"] == "139****5678"
    full = api_as(police_user).get(f"/api/v1/messages/{message.pk}/").json()
    assert full["mobile"] == "13912345678"
