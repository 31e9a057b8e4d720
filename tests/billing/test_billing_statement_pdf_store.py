"""An issued 结算单 is a document both parties sign: its PDF is stored when it is issued, with its SHA-256 on the
statement and the pages, and that very file is served ever after; drafts render from the current figures."""

import hashlib
from datetime import date
from pathlib import Path

import pytest
from factories.billing import outcome

import billing.documents
from billing.models import Statement
from billing.services.statements import statement_approve, statement_close_month, statement_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings):
    return Path(settings.MEDIA_ROOT)  # the test's own folder (tests/conftest.py)


@pytest.fixture
def october(contract, gateway_days, set_outcome, locked):
    gateway_days({date(2025, 10, 2): 6_000_000})
    set_outcome({(2025, 10): outcome(85)})
    return statement_close_month(contract=contract, year=2025, month=10)


def _url(contract) -> str:
    return f"/api/v1/statements/{contract.number}/2025-10/pdf/"


def _issue(statement, police_user, finance_user) -> Statement:
    return statement_issue(statement=statement_approve(statement=statement, user=police_user), user=finance_user)


def test_issuing_stores_the_pdf_with_its_sha256(october, media, police_user, finance_user):
    issued = _issue(october, police_user, finance_user)
    stored = Path(issued.pdf_file.path)
    assert stored.is_relative_to(media / "statements")
    assert stored.name == "JS-202510-0524-01.pdf"
    assert stored.read_bytes().startswith(b"%PDF")
    assert issued.pdf_sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()


def test_the_stored_file_is_served_ever_after(contract, october, media, police_user, finance_user, api_as, monkeypatch):
    issued = _issue(october, police_user, finance_user)
    stored = Path(issued.pdf_file.path).read_bytes()

    def no_rendering(statement):
        raise AssertionError("an issued statement must not be rendered again")

    monkeypatch.setattr(billing.documents, "statement_pdf", no_rendering)
    contract.purchaser.name = "改名后的甲方"  # later edits do not change the signed document
    contract.purchaser.save()
    for _ in range(2):
        response = api_as(finance_user).get(_url(contract))
        assert response.status_code == 200
        assert response.content == stored
        assert response["X-Content-SHA256"] == issued.pdf_sha256
        assert response["ETag"] == f'"{issued.pdf_sha256}"'


def test_drafts_render_from_the_current_figures(contract, october, media, finance_user, api_as, monkeypatch):
    renders = iter([b"%PDF-first", b"%PDF-second"])
    monkeypatch.setattr(billing.documents, "statement_pdf", lambda statement: next(renders))
    client = api_as(finance_user)
    assert client.get(_url(contract)).content == b"%PDF-first"
    second = client.get(_url(contract))
    assert second.content == b"%PDF-second"
    assert second["X-Content-SHA256"] == hashlib.sha256(b"%PDF-second").hexdigest()
    assert not Statement.objects.get(pk=october.pk).pdf_file


def test_a_changed_stored_file_is_refused_not_served(contract, october, media, police_user, finance_user, api_as):
    issued = _issue(october, police_user, finance_user)
    Path(issued.pdf_file.path).write_bytes(b"%PDF-forged")
    response = api_as(finance_user).get(_url(contract))
    assert response.status_code == 500
    assert response.json()["code"] == "pdf_checksum_mismatch"


def test_a_statement_issued_before_pdfs_were_kept_is_stored_on_first_download(
    contract, october, media, finance_user, api_as
):
    Statement.objects.filter(pk=october.pk).update(state=Statement.State.ISSUED)  # as issued by an older version
    first = api_as(finance_user).get(_url(contract))
    statement = Statement.objects.get(pk=october.pk)
    assert statement.pdf_file and first["X-Content-SHA256"] == statement.pdf_sha256
    assert api_as(finance_user).get(_url(contract)).content == first.content


def test_the_sha256_is_shown_on_the_finance_and_carrier_pages_and_in_the_api(
    contract, october, media, police_user, finance_user, carrier_user, client_as, api_as
):
    issued = _issue(october, police_user, finance_user)
    assert issued.pdf_sha256 in client_as(finance_user).get("/finance/").content.decode()
    assert issued.pdf_sha256 in client_as(carrier_user).get("/portal/").content.decode()
    detail = api_as(finance_user).get(f"/api/v1/statements/{contract.number}/2025-10/")
    assert detail.json()["pdf_sha256"] == issued.pdf_sha256
