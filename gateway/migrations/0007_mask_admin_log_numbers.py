"""Admin log entries name the object by its __str__, which held the full number for opt-outs and ported
numbers until __str__ masked it (8.1): mask the names already logged."""

from django.db import migrations

from sms_contract.masking import mask_mobiles_in_text


def mask_logged_names(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.filter(app_label="gateway", model__in=["optout", "portednumber", "uplinkmessage"])
    for entry in LogEntry.objects.filter(content_type__in=types).only("pk", "object_repr").iterator():
        masked = mask_mobiles_in_text(entry.object_repr)
        if masked != entry.object_repr:
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=masked)


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0006_audit_history"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(mask_logged_names, migrations.RunPython.noop)]
