"""Staff API tokens are stored only as a hash (8.1, django-rest-knox), keep the `Authorization: Token <key>`
header, and tokens issued before the change keep working after the migration."""

import importlib
import io
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken

migration = importlib.import_module("contracts.migrations.0005_hash_api_tokens")

OLD_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # a DRF token: 40 hex characters


@pytest.mark.django_db
def test_existing_clear_tokens_become_hashes_and_still_authenticate(api_client, police_user):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, created timestamp)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [OLD_KEY, police_user.pk, timezone.now()])
    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    migration.move_tokens_to_hashes(django_apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    row = AuthToken.objects.get()
    assert OLD_KEY not in (row.digest, row.token_key) and len(row.digest) == 128 and row.expiry is None
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {OLD_KEY}")
    assert api_client.get("/api/v1/contracts/").status_code == 200


@pytest.mark.django_db
def test_created_token_is_printed_once_and_stored_only_as_its_hash(api_client, police_user):
    out = io.StringIO()
    call_command("create_api_token", police_user.username, stdout=out)
    token = out.getvalue().strip()
    assert not AuthToken.objects.filter(digest=token).exists()
    row = AuthToken.objects.get()
    assert row.token_key == token[:15] and token not in row.digest and row.expiry is None
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/contracts/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Token nope", "Token " + "a" * 5000, b"Token \xff\xfe".decode("latin-1")],
    ids=["unknown", "long", "latin1"],
)
def test_bad_tokens_are_a_401_with_a_code(api_client, police_user, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get("/api/v1/contracts/")
    assert response.status_code in (401, 403)  # 403: session authentication comes first (no WWW-Authenticate)
    assert response.json()["code"] == "authentication_failed"
