"""API tokens are stored only as a hash (8.1): every DRF token (`authtoken_token`, the key in clear) becomes a
django-rest-knox token with the SHA-512 of the same key, so clients keep sending `Authorization: Token <key>`,
and the clear-text table is dropped."""

from django.db import migrations


def move_tokens_to_hashes(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        digest = hash_token(key)
        AuthToken(digest=digest, token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id, expiry=None).save()
        AuthToken.objects.filter(digest=digest).update(created=created)
    schema_editor.execute("DROP TABLE authtoken_token")


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0004_reminder_delivery"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(move_tokens_to_hashes, migrations.RunPython.noop)]
