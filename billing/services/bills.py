"""The carrier's monthly bill: upload (streamed, validated, all or nothing) and reconciliation of Msg_Ids."""

import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from itertools import islice

from django.db import connection, transaction
from django.utils import timezone

from billing.files import (
    DETAIL_COLUMNS,
    SHANGHAI,
    SUMMARY_COLUMNS,
    BillFileError,
    ErrorLog,
    is_blank,
    iter_file_rows,
    map_header,
    msg_id_to_signed,
    parse_mobile,
    parse_msg_id,
    parse_status,
    parse_submitted_at,
    parse_units,
    read_daily_summary,
)
from billing.models import CarrierBill, CarrierBillDay, CarrierBillRecord
from billing.selectors import bill_due_date_for, month_bounds
from contracts.models import Contract

COPY_BATCH_ROWS = 50_000
MISSING_SAMPLE = 20
RECORD_COLUMNS = ("bill_id", "row", "msg_id", "mobile", "submitted_at", "day", "units", "status")


class _RecordWriter:
    """Writes detail rows in batches: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, bill_id: int):
        self.bill_id = bill_id
        self.postgres = connection.vendor == "postgresql"
        self.buffer: list = []
        self.table = CarrierBillRecord._meta.db_table

    def add(self, row: int, msg_id: int, mobile: str, submitted_at: datetime, day: date, units: int, status: str):
        if self.postgres:
            self.buffer.append(
                f"{self.bill_id}\t{row}\t{msg_id}\t{mobile}\t{submitted_at.isoformat()}\t{day.isoformat()}"
                f"\t{units}\t{status}\n"
            )
        else:
            self.buffer.append(
                (self.bill_id, row, msg_id, mobile, submitted_at.isoformat(), day.isoformat(), units, status)
            )
        if len(self.buffer) >= COPY_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.cursor.copy_expert(
                    f"COPY {self.table} ({', '.join(RECORD_COLUMNS)}) FROM STDIN", io.StringIO("".join(self.buffer))
                )
            else:
                marks = ", ".join(["%s"] * len(RECORD_COLUMNS))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({', '.join(RECORD_COLUMNS)}) VALUES ({marks})",  # noqa: S608
                    self.buffer,
                )
        self.buffer = []


def _read_detail(rows, columns, errors: ErrorLog, start: date, end: date, writer: _RecordWriter) -> dict[date, int]:
    days: dict[date, int] = defaultdict(int)
    i_msg, i_mobile, i_at, i_units, i_status = (columns[c] for c in DETAIL_COLUMNS)
    width = max(i_msg, i_mobile, i_at, i_units, i_status) + 1
    count = 0
    for number, values in rows:
        if len(values) < width:
            if is_blank(values):
                continue
            values = tuple(values) + (None,) * (width - len(values))
        try:
            column = "msg_id"
            msg_id = parse_msg_id(values[i_msg])
            column = "mobile"
            mobile = parse_mobile(values[i_mobile])
            column = "submitted_at"
            submitted_at = parse_submitted_at(values[i_at])
            day = submitted_at.astimezone(SHANGHAI).date()
            if not start <= day <= end:
                raise ValueError(f"提交时间 {day} 不在账期 {start:%Y-%m} 内。")
            column = "units"
            units = parse_units(values[i_units])
            column = "status"
            status = parse_status(values[i_status])
        except ValueError as exc:
            if is_blank(values):
                continue
            errors.add(number, column, str(exc))
            continue
        count += 1
        days[day] += units
        if not errors:
            writer.add(number, msg_id_to_signed(msg_id), mobile, submitted_at, day, units, status)
    writer.flush()
    return dict(days)


def _check_duplicate_msg_ids(bill: CarrierBill, errors: ErrorLog) -> None:
    table = CarrierBillRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(row), MAX(row), COUNT(*) FROM {table} WHERE bill_id = %s "  # noqa: S608
            "GROUP BY msg_id HAVING COUNT(*) > 1 ORDER BY MIN(row)",
            [bill.pk],
        )
        for first, last, _count in cursor.fetchall():
            errors.add(last, "msg_id", f"消息ID 与第 {first} 行重复。")


def _load_ours(cursor, ids: Iterable[int]) -> None:
    """Our Msg_Ids (unsigned) into the temporary table billing_ours_ids, in chunks."""
    iterator = iter(ids)
    postgres = connection.vendor == "postgresql"
    while chunk := list(islice(iterator, COPY_BATCH_ROWS)):
        signed = [msg_id_to_signed(int(v)) for v in chunk]
        if postgres:
            cursor.cursor.copy_expert(
                "COPY billing_ours_ids (msg_id) FROM STDIN", io.StringIO("".join(f"{v}\n" for v in signed))
            )
        else:
            cursor.executemany("INSERT INTO billing_ours_ids (msg_id) VALUES (%s)", [(v,) for v in signed])


def _compare_msg_ids(bill: CarrierBill) -> None:
    """Set comparison in the database: their detail rows against our Msg_Ids for the period."""
    from gateway.selectors import carrier_msg_ids

    start, end = month_bounds(bill.year, bill.month)
    table = CarrierBillRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS billing_ours_ids")
        cursor.execute("CREATE TEMPORARY TABLE billing_ours_ids (msg_id BIGINT NOT NULL)")
        try:
            _load_ours(cursor, carrier_msg_ids(contract_id=bill.contract_id, start=start, end=end))
            cursor.execute("CREATE INDEX billing_ours_ids_idx ON billing_ours_ids (msg_id)")
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE billing_ours_ids")
            theirs_only = (
                f"FROM {table} r WHERE r.bill_id = %s AND NOT EXISTS "  # noqa: S608
                "(SELECT 1 FROM billing_ours_ids o WHERE o.msg_id = r.msg_id)"
            )
            ours_only = (
                f"FROM billing_ours_ids o WHERE NOT EXISTS (SELECT 1 FROM {table} r "  # noqa: S608
                "WHERE r.bill_id = %s AND r.msg_id = o.msg_id)"
            )
            cursor.execute(f"SELECT COUNT(*) {theirs_only}", [bill.pk])
            bill.missing_ours_count = cursor.fetchone()[0]
            cursor.execute(f"SELECT r.msg_id {theirs_only} ORDER BY r.row LIMIT {MISSING_SAMPLE}", [bill.pk])
            bill.missing_ours_sample = [v for (v,) in cursor.fetchall()]
            cursor.execute(f"SELECT COUNT(*) {ours_only}", [bill.pk])
            bill.missing_theirs_count = cursor.fetchone()[0]
            cursor.execute(f"SELECT o.msg_id {ours_only} ORDER BY o.msg_id LIMIT {MISSING_SAMPLE}", [bill.pk])
            bill.missing_theirs_sample = [v for (v,) in cursor.fetchall()]
        finally:
            cursor.execute("DROP TABLE IF EXISTS billing_ours_ids")


@transaction.atomic
def carrier_bill_upload(
    *, contract: Contract, period: tuple[int, int], uploaded_by, file, filename: str, now: datetime | None = None
) -> CarrierBill:
    """Store the carrier's bill for `period` (year, month) from a CSV or XLSX file: a daily summary
    (date, units) or detail records (msg_id, mobile, submitted_at, units, status). Every row is validated
    while streaming; any bad row raises `BillFileError` and nothing is saved. Detail rows are aggregated to
    per-day totals and their Msg_Ids compared with ours. A bill uploaded after its due date is flagged late."""
    year, month = period
    now = now or timezone.now()
    due_on = bill_due_date_for(contract=contract, year=year, month=month)
    start, end = month_bounds(year, month)
    errors = ErrorLog()
    rows = iter_file_rows(file)
    header = next(rows, None)
    columns = map_header(header[1]) if header else {}
    if all(c in columns for c in DETAIL_COLUMNS):
        kind = CarrierBill.Kind.DETAIL
    elif all(c in columns for c in SUMMARY_COLUMNS):
        kind = CarrierBill.Kind.SUMMARY
    else:
        raise BillFileError(
            "无法识别表头。 (Unknown header: use date,units or msg_id,mobile,submitted_at,units,status.)",
            [{"row": 1, "column": "", "message": "表头应为 日期,条数 或 消息ID,手机号码,提交时间,计费条数,状态。"}],
            1,
        )
    bill = CarrierBill.objects.create(
        contract=contract,
        year=year,
        month=month,
        kind=kind,
        filename=filename[:255],
        uploaded_by=uploaded_by,
        uploaded_at=now,
        due_on=due_on,
        is_late=now.astimezone(SHANGHAI).date() > due_on,
    )
    if kind == CarrierBill.Kind.DETAIL:
        days = _read_detail(rows, columns, errors, start, end, _RecordWriter(bill.pk))
        if not errors:
            _check_duplicate_msg_ids(bill, errors)
    else:
        days = read_daily_summary(rows, columns, errors, start, end)
    if not errors and not days:
        errors.add(2, "", "文件没有数据行。")
    errors.raise_if_any("账单文件")
    CarrierBillDay.objects.bulk_create([CarrierBillDay(bill=bill, day=d, units=u) for d, u in sorted(days.items())])
    bill.total_units = sum(days.values())
    if kind == CarrierBill.Kind.DETAIL:
        bill.record_count = CarrierBillRecord.objects.filter(bill=bill).count()
        _compare_msg_ids(bill)
    bill.save()
    return bill
