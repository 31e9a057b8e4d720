"""What people type reaches every entry point the same way (sms_contract.textnorm): full-width digits and +86
forms in the intake API, the opt-out API and its URL path, the admin, uplinks and bills; disguised content is
refused through the API while accepted text is stored exactly as the client sent it."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.files import parse_mobile
from gateway.apiclient import ApiError
from gateway.models import ForbiddenWord, Message, OptOut, PortedNumber
from gateway.sender.store import uplink_record

FULL_WIDTH = "1３８00138000"
ASCII = "13800138000"


def test_full_width_opt_out_put_unsubscribes_the_ascii_number(api, free_api):
    answer = api.optout_put(FULL_WIDTH)
    assert answer["mobile"] == ASCII and answer["opted_out"] is True
    assert OptOut.objects.get().mobile == ASCII
    with pytest.raises(ApiError) as info:
        free_api.send(mobile=ASCII, content="您好")
    assert info.value.code == "opted_out"


def test_opted_out_number_typed_as_0086_full_width_is_not_sent_to(api, free_api):
    api.optout_put(ASCII)
    with pytest.raises(ApiError) as info:
        free_api.send(mobile="００８６ " + FULL_WIDTH, content="您好")
    assert info.value.code == "opted_out"
    assert not Message.objects.exists()


def test_message_to_a_full_width_number_is_stored_with_ascii_digits(free_api):
    free_api.send(mobile="＋８６" + FULL_WIDTH, content="您好")
    assert Message.objects.get().mobile == ASCII


@pytest.mark.parametrize(
    "content",
    [
        "请开发 票",
        "使用ＶＰＮ",
        "访问 ｗｗｗ．evil．com",
        "访问 https：//evil.com",
        "\u200b【别的单位】您好",
        "您好\u202e",
    ],
)
def test_disguised_content_is_refused_by_the_api_and_queues_nothing(free_api, content):
    ForbiddenWord.objects.create(word="开发票")
    ForbiddenWord.objects.create(word="VPN")
    with pytest.raises(ApiError) as info:
        free_api.send(mobile=ASCII, content=content)
    assert info.value.status == 400 and info.value.code in ("forbidden_content", "link_not_allowed")
    assert not Message.objects.exists()


def test_accepted_content_is_stored_as_the_client_sent_it(free_api):
    free_api.send(mobile=ASCII, content="您好\u200b，ＡＢＣ　123")
    assert Message.objects.get().content.endswith("您好\u200b，ＡＢＣ　123")


@pytest.fixture
def admin_web(client, gateway):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw-for-tests-1"))
    return client


def test_admin_stores_a_typed_opt_out_number_as_ascii(admin_web):
    form = {"mobile": "+86 1３８-0013-8000", "opted_out": "on", "since_0": "2026-01-01", "since_1": "08:00:00"}
    response = admin_web.post("/admin/gateway/optout/add/", {**form, "source": "admin"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert OptOut.objects.get().mobile == ASCII


def test_admin_refuses_a_number_that_is_not_a_mobile(admin_web):
    response = admin_web.post("/admin/gateway/portednumber/add/", {"mobile": "12345", "direction": "in"})
    assert response.status_code == 200 and "11 位" in response.content.decode()
    assert not PortedNumber.objects.exists()


def test_uplink_from_a_0086_source_opts_out_the_ascii_number(db):
    uplink_record(src="008613800138000", dest_id="106912", text="TD", node_id=None, now=timezone.now())
    assert OptOut.objects.get().mobile == ASCII


@pytest.mark.parametrize("raw", [FULL_WIDTH, "+86 138 0013 8000", "0086" + ASCII, ASCII])
def test_bill_numbers_are_read_as_ascii_digits(raw):
    assert parse_mobile(raw) == ASCII


@pytest.mark.parametrize(("typed", "stored"), [("+86 1３８-0013-8000", ASCII), ("0516-8388 1234", "0516-8388 1234")])
def test_complainant_mobile_is_stored_as_ascii_and_a_landline_as_typed(contract, typed, stored):
    from assessment import services

    complaint = services.complaint_open(
        contract=contract, received_at=timezone.now(), received_by="police", subject="x", complainant_mobile=typed
    )
    complaint.refresh_from_db()
    assert complaint.complainant_mobile == stored
