"""Opt-out API (4.3) and the credential commands."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gateway.apiclient import ApiError
from gateway.crypto import decrypt_secret, encrypt_secret
from gateway.models import ApiClient, CarrierNode, Message, OptOut


def test_optout_cycle_for_the_platform(api, free_api):
    assert api.optout_get("13912345678") == {"mobile": "13912345678", "opted_out": False, "since": None, "source": None}
    out = api.optout_put("+8613912345678")
    assert out["opted_out"] is True and out["source"] == "platform" and out["since"]
    assert api.optout_get("13912345678")["opted_out"] is True
    with pytest.raises(ApiError) as info:
        free_api.send(mobile="13912345678", content="您好")
    assert info.value.code == "opted_out"
    back = api.optout_delete("13912345678")
    assert back["opted_out"] is False and back["source"] == "platform"
    assert free_api.send(mobile="13912345678", content="您好")["status"] == "queued"


def test_customer_service_client_records_carrier_cs(make_api):
    _, cs = make_api(may_send=False)
    assert cs.optout_put("13912345678")["source"] == "carrier_cs"
    row = OptOut.objects.get(mobile="13912345678")
    assert row.history.first().history_change_reason.startswith("api:")


def test_repeated_opt_out_keeps_the_first_time(api):
    first = api.optout_put("13912345678")
    assert api.optout_put("13912345678")["since"] == first["since"]


def test_optout_refuses_bad_numbers_and_clients_without_the_right(make_api, api):
    with pytest.raises(ApiError) as info:
        api.optout_get("12345")
    assert (info.value.status, info.value.code) == (400, "invalid_mobile")
    _, sender_only = make_api(may_manage_optouts=False)
    with pytest.raises(ApiError) as info:
        sender_only.optout_put("13912345678")
    assert (info.value.status, info.value.code) == (403, "optouts_not_allowed")
    assert not OptOut.objects.exists()


def test_staff_read_masked_and_change_as_admin(api_as, police_user, make_user, gateway):
    OptOut.objects.create(mobile="13912345678", since="2026-01-01T00:00:00+08:00", source="mo")
    auditor = api_as(make_user("auditor"))
    assert auditor.get("/api/v1/optouts/13912345678/").json()["mobile"] == "139****5678"
    assert auditor.delete("/api/v1/optouts/13912345678/").status_code == 403
    answer = api_as(police_user).delete("/api/v1/optouts/13912345678/").json()
    assert answer["opted_out"] is False and answer["source"] == "admin"


def test_create_api_client_json_prints_working_credentials_once(gateway, capsys):
    call_command("create_api_client", "platform", "--allow-free-content", "--json")
    creds = json.loads(capsys.readouterr().out)
    client = ApiClient.objects.get(name="platform")
    assert creds["key"] == client.key_id and client.allow_free_content
    assert decrypt_secret(client.secret_encrypted) == creds["secret"]
    assert creds["secret"] not in client.secret_encrypted
    with pytest.raises(CommandError):
        call_command("create_api_client", "platform")


def test_create_api_client_for_customer_service(gateway, capsys):
    call_command("create_api_client", "客服", "--optouts-only")
    out = capsys.readouterr().out
    assert "secret:" in out
    assert ApiClient.objects.get(name="客服").may_send is False


def test_rotate_api_client_command(gateway, capsys):
    call_command("create_api_client", "p", "--json")
    old = json.loads(capsys.readouterr().out)
    call_command("rotate_api_client", "p", "--overlap-hours", "2", "--json")
    new = json.loads(capsys.readouterr().out)
    client = ApiClient.objects.get(name="p")
    assert new["key"] == old["key"] and new["secret"] != old["secret"]
    assert decrypt_secret(client.previous_secret_encrypted) == old["secret"]
    with pytest.raises(CommandError):
        call_command("rotate_api_client", "nobody")


def test_rotate_secrets_key_reencrypts_under_the_first_key(gateway, settings, capsys):
    from cryptography.fernet import Fernet

    from gateway import crypto

    call_command("create_api_client", "p", "--json")
    secret = json.loads(capsys.readouterr().out)["secret"]
    node = CarrierNode.objects.create(
        contract=gateway, name="n", host="h", sp_id="1", secret_encrypted=encrypt_secret("pw")
    )
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, *settings.SECRETS_ENCRYPTION_KEYS]
    crypto._fernet.cache_clear()
    try:
        call_command("rotate_secrets_key")
        client = ApiClient.objects.get(name="p")
        node.refresh_from_db()
        only_new = Fernet(new_key.encode())
        assert only_new.decrypt(client.secret_encrypted.encode()).decode() == secret
        assert only_new.decrypt(node.secret_encrypted.encode()).decode() == "pw"
    finally:
        crypto._fernet.cache_clear()
    assert not Message.objects.exists()


def test_command_line_client_sends_and_reads(make_api, monkeypatch, capsys):
    from factories.gateway import DjangoTestApiClient

    from gateway import apiclient

    row, _ = make_api()
    monkeypatch.setattr(apiclient, "SmsApiClient", lambda url, key, secret: DjangoTestApiClient(key, secret))
    args = ["--url", "http://testserver", "--key", row.key_id, "--secret", "test-secret-0123456789"]
    send = [*args, "send", "13912345678", "--template", "licence_score", "--param", "points=3", "--ref", "cli-1"]
    assert apiclient.main(send) == 0
    sent = json.loads(capsys.readouterr().out)
    assert sent["status"] == "queued" and sent["client_ref"] == "cli-1"
    assert apiclient.main([*args, "by-ref", "cli-1"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == sent["id"]
    assert apiclient.main([*args, "send", "123", "--template", "licence_score"]) == 1
    assert json.loads(capsys.readouterr().err)["code"] == "invalid_mobile"
