"""Changes to the data police staff edit are audited (who, when, before and after) and auditors can read them."""

import pytest
from django.apps import apps

from gateway.models import ForbiddenWord

# Models whose changes must leave an audit trail (contract data, rules, templates, nodes, scores, money).
AUDITED = [
    "contracts.Contract",
    "contracts.Party",
    "gateway.SendingProfile",
    "gateway.CarrierNode",
    "gateway.MessageTemplate",
    "gateway.SubPort",
    "gateway.ApiClient",
    "gateway.OptOut",
    "gateway.ScopeSegment",
    "gateway.PortedNumber",
    "gateway.ForbiddenWord",
    "gateway.AllowedLink",
    "billing.CarrierBill",
]


@pytest.mark.parametrize("label", AUDITED)
def test_model_keeps_history(label):
    model = apps.get_model(label)
    assert hasattr(model._meta, "simple_history_manager_attribute"), f"{label} has no change history"


@pytest.mark.django_db
def test_admin_change_is_recorded_with_its_author_and_readable_by_auditors(make_user, client_as, contract):
    police = make_user("police_staff")
    word = ForbiddenWord.objects.create(word="赌博")
    response = client_as(police).post(f"/admin/gateway/forbiddenword/{word.pk}/change/", {"word": "博彩"})
    assert response.status_code == 302
    latest = word.history.latest()
    assert (latest.word, latest.history_user, latest.prev_record.word) == ("博彩", police, "赌博")

    auditor = make_user("auditor")
    page = client_as(auditor).get(f"/admin/gateway/forbiddenword/{word.pk}/history/")
    assert page.status_code == 200
    assert "博彩" in page.content.decode()
    assert client_as(auditor).post(f"/admin/gateway/forbiddenword/{word.pk}/change/", {"word": "x"}).status_code == 403
