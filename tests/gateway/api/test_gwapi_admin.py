"""Gateway admin: secrets shown once, write-only node passwords, fixed registered code, masking; seed defaults."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from factories.gateway import CarrierNodeFactory, MessageFactory

from gateway.crypto import decrypt_secret
from gateway.models import ApiClient, CarrierNode, Message, MessageTemplate, NoticeType, ScopeSegment, SendingProfile
from gateway.services.profiles import sending_profile_update
from gateway.services.seed import CMCC_SEGMENTS, gateway_seed_defaults


@pytest.fixture
def admin_web(client, gateway):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-for-tests-1")
    client.force_login(user)
    return client


def test_new_api_client_secret_is_shown_once(admin_web, gateway):
    response = admin_web.post(
        "/admin/gateway/apiclient/add/",
        {"contract": gateway.pk, "name": "12123 平台", "may_send": "on", "may_manage_optouts": "on", "enabled": "on"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    secret = re.search(r'<code class="api-secret">([^<]+)</code>', html).group(1)
    client = ApiClient.objects.get(name="12123 平台")
    assert decrypt_secret(client.secret_encrypted) == secret and client.key_id in html
    assert "no-store" in response["Cache-Control"]
    for url in (f"/admin/gateway/apiclient/{client.pk}/change/", "/admin/gateway/apiclient/"):
        assert secret not in admin_web.get(url).content.decode()


def test_rotate_action_shows_the_new_secret_and_keeps_the_old_for_24_hours(admin_web, gateway):
    from gateway.services.clients import api_client_create

    client, old = api_client_create(contract=gateway, name="p")
    response = admin_web.post("/admin/gateway/apiclient/", {"action": "rotate_secret", "_selected_action": [client.pk]})
    secret = re.search(r'<code class="api-secret">([^<]+)</code>', response.content.decode()).group(1)
    client.refresh_from_db()
    assert decrypt_secret(client.secret_encrypted) == secret != old.secret
    assert decrypt_secret(client.previous_secret_encrypted) == old.secret
    assert (client.previous_valid_until - client.created_at).total_seconds() > 23 * 3600


def node_form(gateway, **extra):
    data = {
        "contract": gateway.pk, "name": "xz-1", "host": "10.0.0.1", "port": 7890, "version": 0x20, "sp_id": "901234",
        "window": 16, "rate_limit": 0, "weight": 1, "enabled": "on",
    }  # fmt: skip
    return {**data, **extra}


def test_node_secret_is_write_only(admin_web, gateway):
    response = admin_web.post("/admin/gateway/carriernode/add/", node_form(gateway))
    assert "新节点必须设置密码" in response.content.decode()
    admin_web.post("/admin/gateway/carriernode/add/", node_form(gateway, secret="pa55-word"))
    node = CarrierNode.objects.get(name="xz-1")
    assert decrypt_secret(node.secret_encrypted) == "pa55-word"
    page = admin_web.get(f"/admin/gateway/carriernode/{node.pk}/change/").content.decode()
    assert "pa55-word" not in page and node.secret_encrypted not in page
    admin_web.post(f"/admin/gateway/carriernode/{node.pk}/change/", node_form(gateway, weight=3))
    node.refresh_from_db()
    assert node.weight == 3 and decrypt_secret(node.secret_encrypted) == "pa55-word"  # blank keeps the password


def test_registered_service_code_cannot_change(gateway, admin_web):
    profile = SendingProfile.objects.get(contract=gateway)
    assert sending_profile_update(profile=profile, service_code="1065712124").service_code == "1065712124"
    sending_profile_update(profile=profile, code_registered=True)
    with pytest.raises(ValidationError):
        sending_profile_update(profile=profile, service_code="1065799999")
    profile.refresh_from_db()
    assert profile.service_code == "1065712124"
    page = admin_web.get(f"/admin/gateway/sendingprofile/{profile.pk}/change/").content.decode()
    assert 'name="service_code"' not in page


def test_template_admin_refuses_bad_placeholders(admin_web):
    notice_type = NoticeType.objects.get(code="general")
    response = admin_web.post(
        "/admin/gateway/messagetemplate/add/",
        {"code": "bad", "notice_type": notice_type.pk, "text": "您好{0}", "registration": "pending", "enabled": "on"},
    )
    assert response.status_code == 200 and not MessageTemplate.objects.filter(code="bad").exists()


def test_message_admin_masks_numbers_without_permission(client, make_user, police_user, gateway):
    MessageFactory(contract=gateway, mobile="13912345678", content="【12123】回电13812345678", client_ref="ref-9")
    auditor = make_user("auditor")
    client.force_login(auditor)
    listing = client.get("/admin/gateway/message/").content.decode()
    assert "139****5678" in listing and "13912345678" not in listing
    message_id = Message.objects.get().pk
    detail = client.get(f"/admin/gateway/message/{message_id}/change/").content.decode()
    assert "13812345678" not in detail and "138****5678" in detail
    assert "ref-9" in client.get("/admin/gateway/message/?q=ref-9").content.decode()
    client.force_login(police_user)
    assert "13912345678" in client.get("/admin/gateway/message/").content.decode()


def test_every_gateway_changelist_opens(admin_web, gateway):
    CarrierNodeFactory(contract=gateway)
    names = "sendingprofile carriernode noticetype messagetemplate subport optout scopesegment portednumber"
    for name in (names + " forbiddenword allowedlink apiclient message dailycount").split():
        assert admin_web.get(f"/admin/gateway/{name}/").status_code == 200, name


def test_seed_defaults_are_idempotent(contract):
    gateway_seed_defaults(contract=contract)
    gateway_seed_defaults(contract=contract)
    profile = SendingProfile.objects.get(contract=contract)
    assert profile.signature == "【12123】"
    assert set(ScopeSegment.objects.values_list("prefix", flat=True)) == set(CMCC_SEGMENTS)
    assert "1349" not in CMCC_SEGMENTS and "1340" in CMCC_SEGMENTS
    assert set(NoticeType.objects.values_list("code", flat=True)) >= {"violation", "licence", "inspection", "general"}
    registered = MessageTemplate.objects.filter(registration="registered", enabled=True)
    assert {t.notice_type.code for t in registered} == {"violation", "licence", "inspection", "general", "emergency"}
    assert NoticeType.objects.get(code="emergency").default_priority == "urgent"
