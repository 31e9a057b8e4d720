"""The carrier's monthly bill: upload (streamed, validated, all or nothing) and reconciliation of Msg_Ids."""

import io
from array import array
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from itertools import islice

from django.db import connection, transaction
from django.utils import timezone

from billing.files import (
    DETAIL_COLUMNS,
    FIRST_YEAR,
    LAST_YEAR,
    MAX_RECORD_UNITS,
    SHANGHAI,
    SUMMARY_COLUMNS,
    BillFileError,
    ErrorLog,
    is_blank,
    iter_file_rows,
    map_header,
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
from gateway import selectors as gateway_selectors
from gateway.cmpp.msgid import MSG_ID_LIMIT, msg_id_to_signed

COPY_BATCH_ROWS = 50_000
MISSING_SAMPLE = 20
RECORD_COLUMNS = ("bill_id", "row", "msg_id", "mobile", "submitted_at", "day", "units", "status")


class _RecordWriter:
    """Writes detail rows in batches: COPY on PostgreSQL, executemany elsewhere. Times are ISO strings
    with their offset, days ISO dates."""

    def __init__(self, bill_id: int):
        self.bill_id = bill_id
        self.postgres = connection.vendor == "postgresql"
        self.buffer: list = []
        self.table = CarrierBillRecord._meta.db_table

    def add(self, row: int, msg_id: int, mobile: str, at_text: str, day_text: str, units: int, status: str):
        if self.postgres:
            self.buffer.append(f"{self.bill_id}\t{row}\t{msg_id}\t{mobile}\t{at_text}\t{day_text}\t{units}\t{status}\n")
        else:
            self.buffer.append((self.bill_id, row, msg_id, mobile, at_text, day_text, units, status))
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


def _submitted(raw) -> tuple[str, str]:
    """(timestamp with offset, Shanghai day) as ISO strings; naive times are Asia/Shanghai."""
    if raw.__class__ is str and len(raw) == 19 and raw[10] == " " and raw[16] == ":":  # "YYYY-MM-DD HH:MM:SS"
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"不是时间（应为 YYYY-MM-DD HH:MM:SS）：{raw!r}") from None
        if moment.tzinfo is None and FIRST_YEAR <= moment.year <= LAST_YEAR:
            return raw + "+08:00", raw[:10]
    moment = parse_submitted_at(raw).astimezone(SHANGHAI)  # one offset in storage, as the fast path writes
    return moment.isoformat(), moment.date().isoformat()


def _read_detail(
    rows, columns, errors: ErrorLog, start: date, end: date, writer: _RecordWriter
) -> tuple[dict[date, int], int, set[int]]:
    """Validate and load detail rows: (units per day, rows loaded, the set of duplicated Msg_Ids, signed).
    The common text cells take a fast path; everything else (XLSX values, odd spellings) goes through the
    general parsers in billing.files. The ids are kept in an 8-byte array and checked for duplicates by
    sorting once at the end (8 MB per 1,000,000 rows while streaming)."""
    days: dict[str, int] = defaultdict(int)
    ids = array("q")
    count = 0
    i_msg, i_mobile, i_at, i_units, i_status = (columns[c] for c in DETAIL_COLUMNS)
    width = max(i_msg, i_mobile, i_at, i_units, i_status) + 1
    first, last = start.isoformat(), end.isoformat()
    for number, values in rows:
        if len(values) < width:
            if is_blank(values):
                continue
            values = tuple(values) + (None,) * (width - len(values))
        try:
            column = "msg_id"
            raw = values[i_msg]
            if raw.__class__ is str and raw.isdigit() and len(raw) < 21:
                msg_id = int(raw)
                if msg_id >= MSG_ID_LIMIT:
                    raise ValueError(f"消息ID 超出 64 位无符号整数范围：{raw!r}")
            else:
                msg_id = parse_msg_id(raw)
            column = "mobile"
            raw = values[i_mobile]
            plain = raw.__class__ is str and raw.isascii() and raw.isdigit() and 5 <= len(raw) <= 20
            mobile = raw if plain else parse_mobile(raw)
            column = "submitted_at"
            at_text, day = _submitted(values[i_at])
            if not first <= day <= last:
                raise ValueError(f"提交时间 {day} 不在账期 {start:%Y-%m} 内。")
            column = "units"
            raw = values[i_units]
            units = int(raw) if raw.__class__ is str and raw.isdigit() and len(raw) < 11 else parse_units(raw)
            if units > MAX_RECORD_UNITS:
                raise ValueError(f"计费条数超出范围（上限 {MAX_RECORD_UNITS}）：{str(raw)[:25]!r}")
            column = "status"
            raw = values[i_status]
            status = raw if raw.__class__ is str and len(raw) <= 20 and raw.isalnum() else parse_status(raw)
        except ValueError as exc:
            if is_blank(values):
                continue
            errors.add(number, column, str(exc))
            continue
        signed = msg_id_to_signed(msg_id)
        ids.append(signed)
        days[day] += units
        count += 1
        if not errors:
            writer.add(number, signed, mobile, at_text, day, units, status)
    writer.flush()
    previous: int | None = None
    duplicated: set[int] = set()
    for value in sorted(ids):
        if value == previous:
            duplicated.add(value)
        previous = value
    return {date.fromisoformat(d): u for d, u in days.items()}, count, duplicated


def _report_duplicates(file, column: int, duplicated: set[int], errors: ErrorLog) -> None:
    """Second pass, only when there are duplicates: each repeat of a Msg_Id names the row it repeats."""
    first: dict[int, int] = {}
    rows = iter_file_rows(file)
    next(rows, None)
    for number, values in rows:
        try:
            msg_id = msg_id_to_signed(parse_msg_id(values[column]))
        except (ValueError, IndexError):
            continue
        if msg_id in duplicated:
            if msg_id in first:
                errors.add(number, "msg_id", f"消息ID 与第 {first[msg_id]} 行重复。")
            else:
                first[msg_id] = number


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

    start, end = month_bounds(bill.year, bill.month)
    table = CarrierBillRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS billing_ours_ids")
        cursor.execute("CREATE TEMPORARY TABLE billing_ours_ids (msg_id BIGINT NOT NULL)")
        try:
            _load_ours(cursor, gateway_selectors.carrier_msg_ids(contract_id=bill.contract_id, start=start, end=end))
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE billing_ours_ids")
            else:
                cursor.execute("CREATE INDEX billing_ours_ids_idx ON billing_ours_ids (msg_id)")
            theirs_only = (
                f"SELECT r.msg_id, COUNT(*) OVER () FROM {table} r WHERE r.bill_id = %s AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM billing_ours_ids o WHERE o.msg_id = r.msg_id) ORDER BY r.row LIMIT {MISSING_SAMPLE}"
            )
            ours_only = (
                "SELECT o.msg_id, COUNT(*) OVER () FROM billing_ours_ids o WHERE NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {table} r WHERE r.bill_id = %s AND r.msg_id = o.msg_id) "
                f"ORDER BY o.msg_id LIMIT {MISSING_SAMPLE}"
            )
            cursor.execute(theirs_only, [bill.pk])
            found = cursor.fetchall()
            bill.missing_ours_count = found[0][1] if found else 0
            bill.missing_ours_sample = [v for v, _ in found]
            cursor.execute(ours_only, [bill.pk])
            found = cursor.fetchall()
            bill.missing_theirs_count = found[0][1] if found else 0
            bill.missing_theirs_sample = [v for v, _ in found]
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
        days, record_count, duplicated = _read_detail(rows, columns, errors, start, end, _RecordWriter(bill.pk))
        if duplicated:
            _report_duplicates(file, columns["msg_id"], duplicated, errors)
    else:
        days = read_daily_summary(rows, columns, errors, start, end)
    if not errors and not days:
        errors.add(2, "", "文件没有数据行。")
    errors.raise_if_any("账单文件")
    CarrierBillDay.objects.bulk_create([CarrierBillDay(bill=bill, day=d, units=u) for d, u in sorted(days.items())])
    bill.total_units = sum(days.values())
    if kind == CarrierBill.Kind.DETAIL:
        bill.record_count = record_count
        _compare_msg_ids(bill)
    bill.save()
    return bill
