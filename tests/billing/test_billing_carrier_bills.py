"""The carrier's monthly bill: upload (summary or detail, CSV or XLSX), errors, late flag, reconciliation."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from factories.billing import csv_bytes, daily_rows, detail_rows, xlsx_bytes

from billing.files import BillFileError
from billing.models import CarrierBill, CarrierBillRecord
from billing.selectors import reconciliation_for_bill
from billing.services.bills import carrier_bill_upload
from gateway.cmpp.msgid import msg_id_from_signed, msg_id_to_signed

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
ON_TIME = datetime(2025, 11, 10, 9, 0, tzinfo=SH)
BIG = 2**64 - 1  # the largest Msg_Id, stored with the sign bit set


def upload(contract, file, *, now=ON_TIME, user=None, period=(2025, 10)):
    return carrier_bill_upload(contract=contract, period=period, uploaded_by=user, file=file, filename="bill", now=now)


def test_summary_bill_with_chinese_headers_reconciled_per_day(contract, gateway_days):
    gateway_days({date(2025, 10, 1): 1000, date(2025, 10, 2): 2000})
    rows = [["日期", "条数"], ["2025-10-01", 1000], ["2025-10-02", 2100], ["2025-10-03", 5]]
    bill = upload(contract, csv_bytes(rows))
    assert (bill.kind, bill.total_units, bill.is_late, bill.due_on) == ("summary", 3105, False, date(2025, 11, 17))
    rec = reconciliation_for_bill(bill)
    assert [(r.day.day, r.ours, r.theirs, r.difference, str(r.percent)) for r in rec.rows] == [
        (1, 1000, 1000, 0, "0.00"),
        (2, 2000, 2100, 100, "5.00"),
        (3, 0, 5, 5, "None"),
    ]
    assert (rec.ours_total, rec.theirs_total, rec.difference_total) == (3000, 3105, 105)


def test_bill_after_the_due_date_is_late(contract):
    late = datetime(2025, 11, 18, 0, 30, tzinfo=SH)
    assert upload(contract, csv_bytes(daily_rows(2025, 10, 1)), now=late).is_late
    on_due = datetime(2025, 11, 17, 23, 59, tzinfo=SH)
    assert not upload(contract, csv_bytes(daily_rows(2025, 10, 1)), now=on_due).is_late


def test_detail_bill_aggregates_days_and_compares_msg_ids(contract, gateway_days):
    ours = [11, 12, 13, BIG]
    theirs = [12, 13, BIG, 99, 98]
    gateway_days({date(2025, 10, 1): 4}, ids=ours)
    bill = upload(contract, xlsx_bytes(detail_rows(2025, 10, [str(i) for i in theirs])))
    assert (bill.kind, bill.record_count, bill.total_units) == ("detail", 5, 5)
    assert dict(bill.days.values_list("day", "units")) == {date(2025, 10, d): 1 for d in range(1, 6)}
    rec = reconciliation_for_bill(bill)
    assert (rec.missing_ours_count, set(rec.missing_ours_sample)) == (2, {99, 98})
    assert (rec.missing_theirs_count, rec.missing_theirs_sample) == (1, (11,))
    stored = set(CarrierBillRecord.objects.filter(bill=bill).values_list("msg_id", flat=True))
    assert msg_id_to_signed(BIG) in stored and msg_id_from_signed(msg_id_to_signed(BIG)) == BIG


def test_detail_bill_chinese_headers_csv(contract, gateway_days):
    gateway_days({}, ids=[5])
    header = ("消息ID", "手机号码", "提交时间", "计费条数", "状态")
    bill = upload(contract, csv_bytes(detail_rows(2025, 10, [5, 6], header=header)))
    assert (bill.kind, bill.missing_ours_count, bill.missing_theirs_count) == ("detail", 1, 0)


def test_bad_rows_anywhere_save_nothing_and_are_reported_by_row_and_column(contract):
    rows = detail_rows(2025, 10, list(range(1, 300)))
    rows[5][0] = "abc"  # row 6
    rows[150][3] = "-1"  # row 151
    rows[200][2] = "2025-11-01 00:00:01"  # row 201: outside the period
    rows[250][0] = rows[10][0]  # row 251 duplicates row 11
    with pytest.raises(BillFileError) as err:
        upload(contract, csv_bytes(rows))
    found = [(e["row"], e["column"]) for e in err.value.extra["errors"]]
    assert found == [(6, "msg_id"), (151, "units"), (201, "submitted_at"), (251, "msg_id")]
    assert not CarrierBill.objects.exists() and not CarrierBillRecord.objects.exists()
    # a duplicate Msg_Id names the row it repeats
    rows = detail_rows(2025, 10, list(range(1, 300)))
    rows[250][0] = rows[10][0]
    with pytest.raises(BillFileError) as err:
        upload(contract, csv_bytes(rows))
    assert err.value.extra["errors"] == [{"row": 251, "column": "msg_id", "message": "消息ID 与第 11 行重复。"}]
    assert not CarrierBill.objects.exists() and not CarrierBillRecord.objects.exists()


def test_error_list_is_capped_with_total_count(contract):
    rows = [["date", "units"]] + [["bad", 1]] * 250
    with pytest.raises(BillFileError) as err:
        upload(contract, csv_bytes(rows))
    assert len(err.value.extra["errors"]) == 100 and err.value.extra["error_count"] == 250


def test_unknown_header_and_xlsx_numeric_msg_id(contract):
    with pytest.raises(BillFileError) as err:
        upload(contract, csv_bytes([["foo", "bar"], [1, 2]]))
    assert err.value.extra["errors"][0]["row"] == 1
    rows = detail_rows(2025, 10, [1])
    rows[1][0] = float(2**60)
    with pytest.raises(BillFileError, match="错误") as err:
        upload(contract, xlsx_bytes(rows))
    assert "文本" in err.value.extra["errors"][0]["message"]


def test_api_upload_permissions_and_errors(contract, api_as, carrier_user, police_user, finance_user, make_user):
    from factories.contracts import ContractFactory

    def post(user, rows, period="2025-10", number=None):
        file = SimpleUploadedFile("bill.csv", csv_bytes(rows).getvalue(), content_type="text/csv")
        data = {"file": file, "period": period, "contract": number or contract.number}
        return api_as(user).post("/api/v1/carrier-bills/", data, format="multipart")

    ok = post(carrier_user, daily_rows(2025, 10, 7))
    assert ok.status_code == 201, ok.content
    body = ok.json()
    assert body["period"] == "2025-10" and body["total_units"] == 21
    assert body["reconciliation"]["theirs_total"] == 21 and len(body["reconciliation"]["rows"]) == 3
    assert post(finance_user, daily_rows(2025, 10, 7)).status_code == 201
    assert post(police_user, daily_rows(2025, 10, 7)).status_code == 403
    other = ContractFactory()
    assert post(carrier_user, daily_rows(2025, 10, 7), number=other.number).status_code == 404
    bad = post(carrier_user, [["date", "units"], ["2025-10-01", "x"]])
    assert bad.status_code == 400
    assert bad.json()["code"] == "bad_file"
    assert bad.json()["errors"] == [{"row": 2, "column": "units", "message": "不是非负整数：'x'"}]
    assert post(carrier_user, daily_rows(2025, 10, 7), period="2025-13").status_code == 400
    detail = api_as(carrier_user).get(f"/api/v1/carrier-bills/{body['id']}/")
    assert detail.status_code == 200
    outsider = make_user("carrier_staff", "other-carrier", party=other.supplier)
    assert api_as(outsider).get(f"/api/v1/carrier-bills/{body['id']}/").status_code == 404
