"""No page, title, heading, history or log line shows a full number to a user without
`contracts.view_full_mobile` (8.1): the auditor on the opt-out admin, model names, runserver's request log."""

import logging

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from gateway.models import OptOut, PortedNumber, UplinkMessage
from gateway.services.optouts import optout_set

FULL = "13912345678"


def test_models_name_numbers_masked():
    assert str(OptOut(mobile=FULL)) == "139****5678"
    assert str(PortedNumber(mobile=FULL)) == "139****5678"
    assert FULL not in str(UplinkMessage(text=f"回电 {FULL}", received_at=timezone.now()))


@pytest.fixture
def optout(gateway):
    row = optout_set(mobile=FULL, opted_out=True, source="platform", actor="api:platform")
    optout_set(mobile=FULL, opted_out=False, source="admin")
    return row


def test_auditor_sees_no_full_number_on_any_opt_out_admin_page(client, make_user, optout):
    client.force_login(make_user("auditor"))
    pages = [
        "/admin/gateway/optout/",
        f"/admin/gateway/optout/{optout.pk}/change/",
        f"/admin/gateway/optout/{optout.pk}/history/",
    ]
    history_id = optout.history.order_by("history_id").first().history_id
    pages.append(f"/admin/gateway/optout/{optout.pk}/history/{history_id}/")
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert FULL not in html, url
        assert "139****5678" in html, url


def test_police_staff_with_the_permission_still_see_and_edit_the_number(client, police_user, optout):
    client.force_login(police_user)
    assert FULL in client.get(f"/admin/gateway/optout/{optout.pk}/change/").content.decode()


def test_admin_log_names_the_object_masked(client, police_user, optout):
    client.force_login(police_user)
    form = {"mobile": FULL, "opted_out": "on", "since_0": "2026-01-01", "since_1": "08:00:00", "source": "admin"}
    assert client.post(f"/admin/gateway/optout/{optout.pk}/change/", form).status_code == 302
    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(OptOut), action_flag=CHANGE)
    assert entry.object_repr == "139****5678"


def test_runserver_request_log_masks_the_opt_out_path(settings):
    import io

    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    (console,) = [
        h for h in logging.getLogger().handlers if any(type(f).__name__ == "MaskMobileFilter" for f in h.filters)
    ]
    out = io.StringIO()
    old_stream = console.setStream(out)
    try:
        logging.getLogger("django.server").warning('"%s" %s %s', f"PUT /api/v1/optouts/{FULL}/ HTTP/1.1", 404, 10)
        logging.getLogger("django.request").warning("Not Found: /api/v1/optouts/%s/", FULL)
    finally:
        console.setStream(old_stream)
    assert FULL not in out.getvalue()
    assert out.getvalue().count("139****5678") == 2


def test_celery_worker_keeps_the_masking_log_handler(monkeypatch):
    from celery.app.log import Logging

    from sms_contract.celery import app

    monkeypatch.setattr(Logging, "_setup", False)
    root = logging.getLogger()
    before = list(root.handlers)
    app.log.setup_logging_subsystem(loglevel="INFO")  # what `celery worker` and `celery beat` do at start
    assert root.handlers == before
    task_logger = logging.getLogger("celery.task")  # get_task_logger(...) loggers hang below it
    assert not [h for h in task_logger.handlers if not isinstance(h, logging.NullHandler)]
    assert task_logger.propagate
