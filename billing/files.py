"""Reading the CSV and XLSX files of success counts and carrier bills, row by row, in constant memory.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
Every bad cell is reported as (row, column, message); callers import nothing when there is any.
"""

import contextlib
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from gateway.cmpp.msgid import MSG_ID_LIMIT
from sms_contract import textnorm
from sms_contract.exceptions import ApplicationError

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_REPORTED_ERRORS = 100
# Units of one detail record (the column is a 32-bit integer) and of one day (a ceiling far above any real
# day of 12123 notices, low enough that units x price in fen never leaves a 64-bit integer).
MAX_RECORD_UNITS = (1 << 31) - 1
MAX_DAY_UNITS = 10**12
# Dates in files: the contract's era, not year 1 or 9999.
FIRST_YEAR, LAST_YEAR = 2000, 2099

# Canonical column -> accepted header spellings (compared stripped and case-insensitively).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "day", "日期"),
    "units": ("units", "条数", "计费条数", "成功条数", "发送成功条数"),
    "msg_id": ("msg_id", "msgid", "消息id", "消息编号"),
    "mobile": ("mobile", "手机号码", "号码", "手机号"),
    "submitted_at": ("submitted_at", "提交时间", "发送时间"),
    "status": ("status", "状态"),
}
SUMMARY_COLUMNS = ("date", "units")
DETAIL_COLUMNS = ("msg_id", "mobile", "submitted_at", "units", "status")


class BillFileError(ApplicationError):
    """A file that cannot be imported; `extra["errors"]` lists the first bad cells with row numbers."""

    def __init__(self, detail: str, errors: list[dict], total: int, *, code: str = "bad_file", status_code=None):
        super().__init__(code, detail, status_code=status_code, extra={"errors": errors, "error_count": total})


@dataclass(frozen=True)
class UploadLimits:
    """What one uploaded file may be (settings BILLING_UPLOAD_*, docs/operations.md "Upload limits")."""

    max_bytes: int = 128 * 1024 * 1024  # the file as uploaded (a 2M-row detail CSV is ~124 MB)
    max_rows: int = 2_000_000  # rows of the sheet / records of the CSV, header included
    max_inflated_bytes: int = 512 * 1024 * 1024  # all parts of an XLSX once inflated
    max_ratio: int = 100  # inflated / compressed, for any part above 1 MiB
    max_shared_strings: int = 4_000_000
    max_cell_chars: int = 32_767  # Excel's own limit for a cell
    max_line_chars: int = 65_536  # one physical CSV line
    max_columns: int = 256  # cells further right are ignored
    max_parts: int = 1_000  # zip entries
    max_small_part_bytes: int = 16 * 1024 * 1024  # styles, workbook, theme...: parsed whole by openpyxl


def upload_limits() -> UploadLimits:
    from django.conf import settings

    defaults = UploadLimits()
    return UploadLimits(
        **{
            name: int(getattr(settings, f"BILLING_UPLOAD_{name.upper()}", getattr(defaults, name)))
            for name in UploadLimits.__dataclass_fields__
        }
    )


def _refuse(code: str, detail: str, message: str, *, row="", column="", status_code=None) -> BillFileError:
    return BillFileError(
        detail, [{"row": row, "column": column, "message": message}], 1, code=code, status_code=status_code
    )


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB"


def check_upload_size(size: int | None, limits: UploadLimits | None = None) -> None:
    """413 `file_too_large` when an upload is above BILLING_UPLOAD_MAX_BYTES."""
    limits = limits or upload_limits()
    if size is not None and size > limits.max_bytes:
        raise _refuse(
            "file_too_large",
            f"文件过大（{_mib(size)}），上限 {_mib(limits.max_bytes)}。 (The file is larger than the upload limit.)",
            f"文件大小 {size} 字节，上限 {limits.max_bytes} 字节。",
            status_code=413,
        )


def inspect_upload(file, limits: UploadLimits | None = None) -> None:
    """Refuse a file before reading it: its size, and for an XLSX its zip directory (number of parts, each
    part's inflated size and compression ratio, the total once inflated). Raises BillFileError; cheap (the
    zip's central directory only), so web requests call it before anything is parsed or queued."""
    limits = limits or upload_limits()
    raw = getattr(file, "file", file)
    raw.seek(0, io.SEEK_END)
    check_upload_size(raw.tell(), limits)
    raw.seek(0)
    if _is_xlsx(raw):
        _inspect_zip(raw, limits)


def _streamed_part(name: str) -> bool:
    """Parts we read with the bounded streaming parser (sheets, shared strings) or never read (media); every
    other part (workbook, styles, theme, properties) is parsed whole by openpyxl and must stay small."""
    name = name.lower()
    return "/worksheets/" in name or name.endswith("sharedstrings.xml") or "/media/" in name


def _inspect_zip(raw, limits: UploadLimits) -> None:
    try:
        with zipfile.ZipFile(raw) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise BillFileError("无法读取 XLSX 文件。 (The XLSX file cannot be read.)", [], 0) from exc
    finally:
        raw.seek(0)
    detail = "XLSX 文件结构异常（疑似压缩炸弹），未读取。 (The XLSX file was refused before it was inflated.)"
    if len(parts) > limits.max_parts:
        raise _refuse("xlsx_refused", detail, f"压缩包内有 {len(parts)} 个部件，上限 {limits.max_parts}。")
    total = 0
    for part in parts:
        total += part.file_size
        if part.file_size > limits.max_small_part_bytes and not _streamed_part(part.filename):
            raise _refuse(
                "xlsx_refused",
                detail,
                f"部件 {part.filename} 解压后 {_mib(part.file_size)}，"
                f"此类部件上限 {_mib(limits.max_small_part_bytes)}。",
            )
        if part.file_size > 1024 * 1024 and part.file_size > limits.max_ratio * max(part.compress_size, 1):
            ratio = part.file_size // max(part.compress_size, 1)
            raise _refuse(
                "xlsx_refused",
                detail,
                f"部件 {part.filename} 压缩比 {ratio}:1（{part.compress_size} → {part.file_size} 字节），"
                f"上限 {limits.max_ratio}:1。",
            )
    if total > limits.max_inflated_bytes:
        raise _refuse("xlsx_refused", detail, f"解压后共 {_mib(total)}，上限 {_mib(limits.max_inflated_bytes)}。")


# Progress of the file being read (rows so far), for the upload's status page; set by billing.tasks.
progress_callback: ContextVar[Callable[[int], None] | None] = ContextVar("billing_upload_progress", default=None)
PROGRESS_EVERY_ROWS = 20_000


class ErrorLog:
    def __init__(self, cap: int = MAX_REPORTED_ERRORS):
        self.cap = cap
        self.errors: list[dict] = []
        self.count = 0

    def add(self, row: int, column: str, message: str) -> None:
        self.count += 1
        if len(self.errors) < self.cap:
            self.errors.append({"row": row, "column": column, "message": message})

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self, what: str = "文件") -> None:
        if self.count:
            raise BillFileError(
                f"{what}有 {self.count} 处错误，未导入任何数据。 ({self.count} bad cell(s); nothing was imported.)",
                self.errors,
                self.count,
            )


def _is_xlsx(raw) -> bool:
    head = raw.read(4)
    raw.seek(0)
    return head == b"PK\x03\x04"


def _csv_encoding(raw) -> str:
    """UTF-8 (with or without BOM) unless the start of the file is not UTF-8, then GB18030 (Excel's CSV)."""
    sample = raw.read(65536)
    raw.seek(0)
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            return "gb18030"
    return "utf-8-sig"


def iter_file_rows(file, limits: UploadLimits | None = None) -> Iterator[tuple[int, tuple]]:
    """(row number, cell values) for every row of the first sheet / the CSV, the header included.

    Bounded: the file is inspected first (`inspect_upload`), then read as a stream with at most
    `max_rows` rows, `max_columns` cells a row, CSV lines of `max_line_chars` and XLSX strings of
    `max_cell_chars`; anything beyond raises BillFileError with the row."""
    limits = limits or upload_limits()
    inspect_upload(file, limits)
    progress = progress_callback.get()
    for number, values in _iter_rows(getattr(file, "file", file), limits):
        if number > limits.max_rows:
            raise _refuse(
                "too_many_rows",
                f"文件超过 {limits.max_rows} 行，未导入。 (The file has more rows than allowed.)",
                f"第 {number} 行超出上限 {limits.max_rows} 行。",
                row=number,
            )
        if progress is not None and number % PROGRESS_EVERY_ROWS == 0:
            progress(number)
        yield number, values


def _iter_rows(raw, limits: UploadLimits) -> Iterator[tuple[int, tuple]]:
    raw.seek(0)
    if _is_xlsx(raw):
        try:
            workbook, sheet_path, shared = _open_workbook(raw, limits)
        except BillFileError:
            raise
        except Exception as exc:  # a damaged workbook
            raise BillFileError("无法读取 XLSX 文件。 (The XLSX file cannot be read.)", [], 0) from exc
        try:
            if sheet_path is not None:
                try:
                    yield from _xlsx_fast_rows(workbook, sheet_path, shared, limits)
                except (
                    IndexError,
                    ValueError,
                    KeyError,
                    SyntaxError,
                    OverflowError,
                    EOFError,
                    zipfile.BadZipFile,
                ) as exc:
                    raise BillFileError(
                        f"无法读取 XLSX 文件：{str(exc)[:200]} (The XLSX file cannot be read.)", [], 0
                    ) from exc
            else:  # pragma: no cover - another openpyxl version: its own (slower) reader
                yield from enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
        finally:
            workbook.close()
        return
    text = io.TextIOWrapper(raw, encoding=_csv_encoding(raw), newline="")
    lines = _bounded_lines(text, limits.max_line_chars)
    try:
        for number, values in enumerate(csv.reader(lines), start=1):
            yield number, tuple(values[: limits.max_columns])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BillFileError(f"CSV 文件格式错误：{exc} (The CSV file cannot be read.)", [], 0) from exc
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # leave the caller's file open


# What a damaged sheet raises while read: a bad shared-string index, ElementTree's ParseError (a SyntaxError),
# a number out of range, a part whose CRC or length lies.
_UNREADABLE = (IndexError, ValueError, KeyError, SyntaxError, OverflowError, EOFError, zipfile.BadZipFile)


def _bounded_lines(text, max_chars: int) -> Iterator[str]:
    """The physical lines of a CSV, none longer than `max_chars` (never more than that held at once)."""
    number = 0
    readline = text.readline
    while line := readline(max_chars + 2):
        number += 1
        if len(line) > max_chars and len(line.rstrip("\r\n")) > max_chars:
            raise _refuse(
                "line_too_long",
                f"CSV 第 {number} 行超过 {max_chars} 个字符，未导入。 (A CSV line is too long.)",
                f"第 {number} 行超过 {max_chars} 个字符。",
                row=number,
            )
        yield line


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _column_index(ref: str) -> int:
    """ "C12" -> 2 (zero-based)."""
    index = 0
    for char in ref:
        if char.isdigit():
            break
        index = index * 26 + (ord(char) - 64)
    return index - 1


_DOCTYPE = b"<!DOCTYPE"
CHUNK_BYTES = 16 * 1024  # as ElementTree.iterparse: larger chunks build more elements before they are dropped


def _runs_longer_than(limit: int):
    """A check over consecutive chunks of XML bytes: raises when a run without "<" (a text node or an attribute
    value) is longer than `limit` bytes. Linear: the look-behind lets a match start only where a run starts."""
    long_run = re.compile(rb"(?<![^<])[^<]{%d}" % (limit + 1))
    state = {"tail": 0, "prev": b""}

    def check(chunk: bytes) -> None:
        first = chunk.find(b"<")
        if first < 0:
            state["tail"] += len(chunk)
        elif state["tail"] + first > limit:
            raise ValueError("run")
        else:
            state["tail"] = len(chunk) - chunk.rfind(b"<") - 1
        if state["tail"] > limit or (first >= 0 and long_run.search(chunk, first)):
            raise ValueError("run")
        if _DOCTYPE in state["prev"][-8:] + chunk[:16] or _DOCTYPE in chunk:
            raise ValueError("doctype")
        state["prev"] = chunk

    return check


def _iterparse_children(source, parent_tag: str, child_tag: str, limits: UploadLimits, part: str):
    """Yield each complete `child_tag` element under `parent_tag`, then drop it: constant memory. The XML is
    fed in 16 KB chunks; no text may be longer than a cell can be (checked on the bytes, before parsing), no
    child may have more than a row's worth of elements, and no DTD is accepted (entity expansion)."""
    import xml.etree.ElementTree as ET

    parser = ET.XMLPullParser(events=("start", "end"))
    check = _runs_longer_than(limits.max_cell_chars * 6)  # UTF-8 and &#...; references: at most 6 bytes a char
    max_elements = limits.max_columns * 8 + 64
    parent, elements, inside = None, 0, False
    refused = _refuse(
        "xlsx_refused",
        "XLSX 文件内容超出限制，未导入。 (The XLSX file exceeds the reading limits.)",
        f"{part}：文本超过 {limits.max_cell_chars} 个字符、含 DTD，或一行 / 一个字符串的元素过多。",
    )
    while chunk := source.read(CHUNK_BYTES):
        try:
            check(chunk)
        except ValueError:
            raise refused from None
        parser.feed(chunk)
        for event, element in parser.read_events():
            tag = element.tag
            if event == "start":
                if tag == child_tag:
                    elements, inside = 0, True
                elif tag == parent_tag:
                    parent = element
                continue
            if tag == child_tag:
                inside = False
                yield element
                if parent is not None:
                    parent.clear()
            elif tag == parent_tag:
                return  # the rest of the part is not needed
            else:
                elements += 1
                if elements > (max_elements if inside else 100_000):
                    raise refused
    parser.close()


def _fast_string_table(source, limits: UploadLimits) -> list[str]:
    """openpyxl's shared-string table, read about 5× faster (plain text of each <si>, phonetics left out)."""
    t_tag, r_tag = f"{_NS}t", f"{_NS}r"
    strings: list[str] = []
    append = strings.append
    limit = limits.max_shared_strings
    for node in _iterparse_children(source, f"{_NS}sst", f"{_NS}si", limits, "共享字符串表"):
        t = node.find(t_tag)
        text = (t.text or "") if t is not None else "".join(r.findtext(t_tag) or "" for r in node.iter(r_tag))
        if len(text) > limits.max_cell_chars or len(strings) >= limit:
            raise _refuse(
                "xlsx_refused",
                "XLSX 文件内容超出限制，未导入。 (The XLSX file exceeds the reading limits.)",
                f"共享字符串表：第 {len(strings) + 1} 个字符串超过 {limits.max_cell_chars} 个字符，"
                f"或字符串多于 {limit} 个。",
            )
        append(text.replace("x005F_", "") if "x005F_" in text else text)
    return strings


def _open_workbook(raw, limits: UploadLimits) -> tuple:
    """(workbook, path of the first worksheet, shared strings). openpyxl reads the workbook's parts and
    styles; the shared strings and the sheet are read here, faster (openpyxl's read-only sheet also scans
    the whole sheet once for its size when the file has no <dimension>). With an openpyxl whose internals
    differ: (openpyxl's read-only workbook, None, None)."""
    import openpyxl

    try:
        from openpyxl.reader.excel import ExcelReader
        from openpyxl.xml.constants import SHARED_STRINGS
    except ImportError:  # pragma: no cover - another openpyxl layout
        return openpyxl.load_workbook(raw, read_only=True, data_only=True), None, None
    reader = ExcelReader(raw, read_only=True, data_only=True)
    sheets: list[str] = []

    def read_strings():
        part = reader.package.find(SHARED_STRINGS)
        if part is not None:
            with reader.archive.open(part.PartName[1:]) as src:
                reader.shared_strings = _fast_string_table(src, limits)

    def read_worksheets():
        sheets.extend(rel.target for _sheet, rel in reader.parser.find_sheets() if "chartsheet" not in rel.Type)

    reader.read_strings = read_strings
    reader.read_worksheets = read_worksheets
    reader.read()
    if not sheets:
        raise ValueError("The workbook has no worksheet.")
    return reader.wb, sheets[0], reader.shared_strings


def _xlsx_fast_rows(workbook, sheet_path: str, shared: list, limits: UploadLimits) -> Iterator[tuple[int, tuple]]:
    """Values of the sheet's rows straight from its XML with the C ElementTree parser: numbers, shared and
    inline strings, booleans and dates (by the workbook's date styles), as openpyxl's values_only rows."""
    from openpyxl.utils.datetime import from_excel

    date_styles = {str(i) for i in workbook._date_formats}
    epoch = workbook.epoch
    source = workbook._archive.open(sheet_path)
    row_tag, cell_tag, value_tag, inline_tag = f"{_NS}row", f"{_NS}c", f"{_NS}v", f"{_NS}is"
    sheet_data_tag = f"{_NS}sheetData"
    max_columns = limits.max_columns

    def rows():
        counter = 0
        with source:
            for element in _iterparse_children(source, sheet_data_tag, row_tag, limits, "工作表"):
                r = element.get("r")
                counter = int(r) if r and r.isdigit() and len(r) < 12 else counter + 1
                values: list = []
                for cell in element.iter(cell_tag):
                    ref = cell.get("r")
                    if ref:
                        column = _column_index(ref[:8])
                        if column >= max_columns:
                            continue
                        if column > len(values):
                            values.extend([None] * (column - len(values)))
                    elif len(values) >= max_columns:
                        continue
                    kind = cell.get("t", "n")
                    if kind == "inlineStr":
                        node = cell.find(inline_tag)
                        value = "".join(node.itertext()) if node is not None else None
                    else:
                        text = cell.findtext(value_tag)
                        if text is None or text == "":
                            value = None
                        elif kind == "s":
                            value = shared[int(text)]
                        elif kind == "n":
                            number = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
                            value = from_excel(number, epoch) if cell.get("s") in date_styles else number
                        elif kind == "b":
                            value = text == "1"
                        else:
                            value = text
                    values.append(value)
                yield counter, tuple(values)

    return rows()


def map_header(values: tuple) -> dict[str, int]:
    """Canonical column name -> index, for the headers we know; other columns are ignored."""
    lookup = {alias.lower(): canonical for canonical, aliases in HEADER_ALIASES.items() for alias in aliases}
    found: dict[str, int] = {}
    for index, cell in enumerate(values):
        canonical = lookup.get(str(cell or "").strip().lower())
        if canonical and canonical not in found:
            found[canonical] = index
    return found


def is_blank(values: tuple) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


# --- cell parsers: each returns the value or raises ValueError with a message for the user -------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_controls(text: str, what: str) -> None:
    """NUL and other control characters are refused in every text cell we parse (Python's fromisoformat
    stops at a NUL and would accept `2025-10-06\x00junk`)."""
    if _CONTROL.search(text):
        raise ValueError(f"{what}含控制字符：{text[:40]!r}")


def _in_era(day: date, value) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"日期超出 {FIRST_YEAR}–{LAST_YEAR} 年：{value!r}")


def parse_date(value) -> date:
    """A day: a date cell, or text YYYY-MM-DD (also YYYY/MM/DD, YYYYMMDD, or followed by a time of day). Text
    after the date is refused (`2026-10-06junk`), and so are years outside FIRST_YEAR..LAST_YEAR."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = str(value or "").strip().replace("/", "-")
        _no_controls(text, "日期")
        if len(text) == 8 and text.isdigit():
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        try:
            day = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
            if len(text) > 10 and text[10] not in " T":
                raise ValueError
        except ValueError:
            raise ValueError(f"不是日期（应为 YYYY-MM-DD）：{str(value)[:40]!r}") from None
    _in_era(day, value)
    return day


def parse_units(value) -> int:
    if isinstance(value, bool):
        raise ValueError(f"不是非负整数：{value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"不是整数：{value!r}")
        number = int(value)
    else:
        text = str(value or "").strip().replace(",", "")
        if not text.isdigit():
            raise ValueError(f"不是非负整数：{value!r}")
        if len(text) > 19:
            raise ValueError(f"条数超出范围：{text[:25]}…")
        number = int(text)
    if number < 0:
        raise ValueError(f"不能为负数：{value!r}")
    if number > MAX_DAY_UNITS:
        raise ValueError(f"条数超出范围（上限 {MAX_DAY_UNITS}）：{value!r}")
    return number


def parse_msg_id(value) -> int:
    """An unsigned 64-bit Msg_Id written in decimal. XLSX numbers are doubles and lose digits beyond 2^53,
    so in a workbook the column must be text."""
    if isinstance(value, float):
        if not value.is_integer() or value >= 2**53:
            raise ValueError("消息ID 以数字格式保存会丢失位数，请将该列设为文本。")
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value or "").strip()
        if not text.isdigit():
            raise ValueError(f"消息ID 应为十进制无符号整数：{value!r}")
        number = int(text)
    if not 0 <= number < MSG_ID_LIMIT:
        raise ValueError(f"消息ID 超出 64 位无符号整数范围：{value!r}")
    return number


def parse_mobile(value) -> str:
    """A bill's number as ASCII digits (sms_contract.textnorm.mobile_digits: full-width digits, separators and
    +86 / 86 / 0086 handled as everywhere else); 5 to 20 digits, the carrier may bill other numbers too."""
    text = str(value if value is not None else "").strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    try:
        text = textnorm.mobile_digits(text)
    except textnorm.InvalidMobile:
        raise ValueError(f"不是手机号码：{value!r}") from None
    if not 5 <= len(text) <= 20:
        raise ValueError(f"不是手机号码：{value!r}")
    return text


def parse_submitted_at(value) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value or "").strip().replace("/", "-")
        _no_controls(text, "时间")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"不是时间（应为 YYYY-MM-DD HH:MM:SS）：{str(value)[:40]!r}") from None
    _in_era(moment, value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment


def parse_status(value) -> str:
    text = str(value if value is not None else "").strip()
    if len(text) > 20 or "\\" in text or _CONTROL.search(text):
        raise ValueError(f"状态过长或含控制字符：{text[:25]!r}")
    return text


def read_daily_summary(
    rows, columns: dict[str, int], errors: ErrorLog, start: date | None = None, end: date | None = None
) -> dict[date, int]:
    """day -> units from the data rows of a `date`,`units` file; each day once, within [start, end]."""
    days: dict[date, int] = {}
    first_row: dict[date, int] = {}
    for number, values in rows:
        if is_blank(values):
            continue
        cells = {c: (values[i] if i < len(values) else None) for c, i in columns.items()}
        try:
            day = parse_date(cells.get("date"))
        except ValueError as exc:
            errors.add(number, "date", str(exc))
            continue
        if start is not None and end is not None and not start <= day <= end:
            errors.add(number, "date", f"日期 {day} 不在账期 {start:%Y-%m} 内。")
            continue
        if day in first_row:
            errors.add(number, "date", f"日期 {day} 与第 {first_row[day]} 行重复。")
            continue
        first_row[day] = number
        try:
            days[day] = parse_units(cells.get("units"))
        except ValueError as exc:
            errors.add(number, "units", str(exc))
    return days
