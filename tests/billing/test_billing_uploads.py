"""Uploads from the web: refused at once when too large or a zip bomb (JSON in the API, a message in the admin
and portal), small files read in the request, large ones read by the Celery task while the uploader follows
their state; admin "add" pages of file-only objects lead to the upload page."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from factories.billing import NS
from factories.billing import minimal_xlsx as xlsx

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 10, 10, 0, tzinfo=TZ)
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def csv_file(text: str, name: str = "bill.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), "text/csv")


def bomb_file() -> SimpleUploadedFile:
    bomb = xlsx(strings=f'<sst xmlns="{NS}"><si><t>'.encode() + b"A" * 20_000_000 + b"</t></si></sst>")
    return SimpleUploadedFile("bomb.xlsx", bomb.getvalue())


GOOD = "date,units\n2025-10-01,100\n2025-10-02,200\n"
BAD = "date,units\n2025-10-01,100\n2025-10-02,abc\n"


@pytest.fixture
def post_bill(api_as, carrier_user, contract):
    def _post(file, **extra):
        with time_machine.travel(NOW):
            return api_as(carrier_user).post(
                "/api/v1/carrier-bills/",
                {"contract": contract.number, "period": "2025-10", "file": file},
                format="multipart",
                **extra,
            )

    return _post


@pytest.mark.django_db
def test_api_refuses_a_zip_bomb_at_once_with_a_code_and_saves_nothing(post_bill):
    from billing.models import BillingUpload, CarrierBill

    answer = post_bill(bomb_file())
    assert answer.status_code == 400
    assert answer.json()["code"] == "xlsx_refused"
    assert "压缩比" in answer.json()["errors"][0]["message"]
    assert not CarrierBill.objects.exists() and not BillingUpload.objects.exists()


@pytest.mark.django_db
def test_api_refuses_a_file_above_the_size_limit_with_413_json(post_bill, settings):
    settings.BILLING_UPLOAD_MAX_BYTES = 30
    answer = post_bill(csv_file(GOOD))
    assert answer.status_code == 413
    assert answer.json()["code"] == "file_too_large"


@pytest.mark.django_db
def test_api_refuses_a_declared_oversized_body_before_reading_it(post_bill, settings):
    settings.BILLING_UPLOAD_MAX_BYTES = 30
    answer = post_bill(csv_file(GOOD), CONTENT_LENGTH=str(10**9))
    assert answer.status_code == 413 and answer.json()["code"] == "file_too_large"


@pytest.mark.django_db
def test_large_upload_is_queued_and_its_status_shows_the_bill(
    post_bill, settings, django_capture_on_commit_callbacks, api_as, carrier_user
):
    from billing.models import BillingUpload, CarrierBill

    settings.BILLING_UPLOAD_INLINE_MAX_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_bill(csv_file(GOOD))
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["state"] == "queued" and body["url"] == f"/api/v1/billing-uploads/{body['id']}/"
    status = api_as(carrier_user).get(body["url"]).json()  # the eager task has run
    bill = CarrierBill.objects.get()
    assert status["state"] == "done" and status["carrier_bill"] == bill.pk and status["rows_read"] == 2
    assert bill.total_units == 300
    upload = BillingUpload.objects.get()
    assert not upload.file  # the stored copy is deleted once read


@pytest.mark.django_db
def test_queued_upload_with_bad_rows_reports_them_and_saves_no_bill(
    post_bill, settings, django_capture_on_commit_callbacks, api_as, carrier_user
):
    from billing.models import CarrierBill

    settings.BILLING_UPLOAD_INLINE_MAX_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        body = post_bill(csv_file(BAD)).json()
    status = api_as(carrier_user).get(body["url"]).json()
    assert status["state"] == "failed" and status["code"] == "bad_file"
    assert status["errors"] == [{"row": 3, "column": "units", "message": "不是非负整数：'abc'"}]
    assert not CarrierBill.objects.exists()


@pytest.mark.django_db
def test_running_upload_shows_rows_read_so_far(contract, carrier_user, monkeypatch):
    from django.core.cache import cache

    from billing import files
    from billing.models import BillingUpload
    from billing.services.uploads import billing_upload_process, billing_upload_status

    upload = BillingUpload.objects.create(
        kind="carrier_bill", contract=contract, year=2025, month=10, filename="b.csv", uploaded_by=carrier_user
    )
    upload.file.save("b.csv", io.BytesIO(("date,units\n" + GOOD.split("\n", 1)[1]).encode()))
    seen = []
    monkeypatch.setattr(files, "PROGRESS_EVERY_ROWS", 1)
    original = cache.set

    def spy(key, value, *args, **kwargs):
        seen.append(billing_upload_status(BillingUpload.objects.get(pk=upload.pk)) | {"cached": value})
        return original(key, value, *args, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    with time_machine.travel(NOW):
        billing_upload_process(upload_id=upload.pk)
    assert [s["cached"] for s in seen] == [1, 2, 3]
    assert all(s["state"] == "running" for s in seen)


@pytest.mark.django_db
def test_another_carriers_upload_status_is_not_visible(contract, carrier_user, make_user, api_as):
    from billing.models import BillingUpload

    upload = BillingUpload.objects.create(
        kind="carrier_bill", contract=contract, year=2025, month=10, filename="b.csv", uploaded_by=carrier_user
    )
    stranger = make_user("carrier_staff", "stranger")
    assert api_as(stranger).get(f"/api/v1/billing-uploads/{upload.pk}/").status_code == 404
    assert api_as(carrier_user).get(f"/api/v1/billing-uploads/{upload.pk}/").status_code == 200


@pytest.mark.django_db
def test_portal_queues_a_large_bill_and_the_page_follows_it(
    client_as, carrier_user, contract, settings, django_capture_on_commit_callbacks
):
    from billing.models import CarrierBill

    settings.BILLING_UPLOAD_INLINE_MAX_BYTES = 10
    client = client_as(carrier_user)
    with time_machine.travel(NOW), django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/portal/bills/upload/", {"contract": contract.pk, "period": "2025-10", "file": csv_file(GOOD)}, **XHR
        )
    assert answer.status_code == 202
    url = answer.json()["status_url"]
    status = client.get(url, **XHR).json()
    assert status["state"] == "done"
    assert status["result_url"] == f"/portal/bills/{CarrierBill.objects.get().pk}/"
    assert client.get(url).url == status["result_url"]  # the page sends the finished upload to its bill
    index = client.get("/portal/").content.decode()
    assert "后台处理的大文件" in index and f'href="{url}"' in index


@pytest.mark.django_db
def test_portal_failed_upload_page_lists_row_errors(
    client_as, carrier_user, contract, settings, django_capture_on_commit_callbacks
):
    settings.BILLING_UPLOAD_INLINE_MAX_BYTES = 10
    client = client_as(carrier_user)
    with time_machine.travel(NOW), django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/portal/bills/upload/", {"contract": contract.pk, "period": "2025-10", "file": csv_file(BAD)}
        )
    page = client.get(answer.url).content.decode()
    assert "失败" in page and "不是非负整数" in page and '<td class="num">3</td>' in page


@pytest.mark.django_db
def test_portal_refuses_a_zip_bomb_with_json(client_as, carrier_user, contract):
    answer = client_as(carrier_user).post(
        "/portal/bills/upload/", {"contract": contract.pk, "period": "2025-10", "file": bomb_file()}, **XHR
    )
    assert answer.status_code == 400 and answer.json()["code"] == "xlsx_refused"


@pytest.mark.django_db
def test_portal_refuses_an_oversized_upload_with_413(client_as, carrier_user, contract, settings):
    settings.BILLING_UPLOAD_MAX_BYTES = 30
    answer = client_as(carrier_user).post(
        "/portal/bills/upload/", {"contract": contract.pk, "period": "2025-10", "file": csv_file(GOOD)}, **XHR
    )
    assert answer.status_code == 413 and answer.json()["code"] == "file_too_large"


@pytest.fixture
def admin_client_(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_admin_queues_a_large_success_count_import_and_shows_its_state(
    admin_client_, contract, settings, django_capture_on_commit_callbacks
):
    from billing.models import BillingUpload, ImportedDailyUnits

    settings.BILLING_UPLOAD_INLINE_MAX_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client_.post(
            "/admin/billing/successcountimport/upload/", {"contract": contract.pk, "file": csv_file(GOOD)}
        )
    upload = BillingUpload.objects.get()
    assert answer.url == f"/admin/billing/billingupload/{upload.pk}/change/"
    page = admin_client_.get(answer.url).content.decode()
    assert "已完成" in page and ImportedDailyUnits.objects.count() == 2


@pytest.mark.django_db
def test_admin_refuses_a_zip_bomb_with_a_message_and_imports_nothing(admin_client_, contract):
    from billing.models import ImportedDailyUnits

    answer = admin_client_.post(
        "/admin/billing/successcountimport/upload/", {"contract": contract.pk, "file": bomb_file()}, follow=True
    )
    assert answer.status_code == 200 and "压缩比" in answer.content.decode()
    assert not ImportedDailyUnits.objects.exists()


@pytest.mark.django_db
def test_admin_add_pages_of_file_only_objects_lead_to_the_upload_page(admin_client_):
    from billing.models import SuccessCountImport

    assert admin_client_.get("/admin/billing/carrierbill/add/").url == "/admin/billing/carrierbill/upload/"
    empty = admin_client_.post("/admin/billing/successcountimport/add/", {})
    assert empty.status_code == 302 and empty.url == "/admin/billing/successcountimport/upload/"
    assert not SuccessCountImport.objects.exists()
    assert admin_client_.get("/admin/billing/carrierbill/upload/").status_code == 200


@pytest.mark.django_db
def test_an_upload_cut_off_by_the_time_limit_is_marked_failed_not_left_running(contract, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from billing.models import BillingUpload
    from billing.services import uploads

    upload = BillingUpload.objects.create(kind="carrier_bill", contract=contract, year=2025, month=10, filename="b")
    upload.file.save("b.csv", io.BytesIO(GOOD.encode()))

    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(uploads, "_process", too_slow)
    uploads.billing_upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert (upload.state, upload.error_code) == ("failed", "timeout")
    assert not upload.file


@pytest.mark.django_db
def test_admin_refuses_an_oversized_upload_with_a_message(admin_client_, contract, settings):
    from billing.models import SuccessCountImport

    settings.BILLING_UPLOAD_MAX_BYTES = 30
    answer = admin_client_.post(
        "/admin/billing/successcountimport/upload/", {"contract": contract.pk, "file": csv_file(GOOD)}, follow=True
    )
    assert answer.status_code == 200 and "文件过大" in answer.content.decode()
    assert not SuccessCountImport.objects.exists()


@pytest.mark.django_db
def test_portal_form_post_of_an_oversized_body_shows_the_page_with_the_error(
    client_as, carrier_user, contract, settings
):
    settings.BILLING_UPLOAD_MAX_BYTES = 30
    answer = client_as(carrier_user).post(
        "/portal/bills/upload/",
        {"contract": contract.pk, "period": "2025-10", "file": csv_file(GOOD)},
        CONTENT_LENGTH=str(10**9),
    )
    assert answer.status_code == 413 and "文件过大" in answer.content.decode()
