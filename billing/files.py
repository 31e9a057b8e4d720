"""Reading the CSV and XLSX files of success counts and carrier bills, row by row, in constant memory.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
Every bad cell is reported as (row, column, message); callers import nothing when there is any.
"""

import contextlib
import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sms_contract import textnorm
from sms_contract.exceptions import ApplicationError

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_REPORTED_ERRORS = 100
U64 = 1 << 64
I64 = 1 << 63

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

    def __init__(self, detail: str, errors: list[dict], total: int):
        super().__init__("bad_file", detail, extra={"errors": errors, "error_count": total})


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


def iter_file_rows(file) -> Iterator[tuple[int, tuple]]:
    """(row number, cell values) for every row of the first sheet / the CSV, the header included."""
    raw = getattr(file, "file", file)
    raw.seek(0)
    if _is_xlsx(raw):
        try:
            workbook, sheet_path, shared = _open_workbook(raw)
        except Exception as exc:  # a damaged workbook
            raise BillFileError("无法读取 XLSX 文件。 (The XLSX file cannot be read.)", [], 0) from exc
        try:
            if sheet_path is not None:
                yield from _xlsx_fast_rows(workbook, sheet_path, shared)
            else:  # another openpyxl version: its own (slower) reader
                yield from enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
        finally:
            workbook.close()
        return
    text = io.TextIOWrapper(raw, encoding=_csv_encoding(raw), newline="")
    try:
        for number, values in enumerate(csv.reader(text), start=1):
            yield number, tuple(values)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BillFileError(f"CSV 文件格式错误：{exc} (The CSV file cannot be read.)", [], 0) from exc
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # leave the caller's file open


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _column_index(ref: str) -> int:
    """ "C12" -> 2 (zero-based)."""
    index = 0
    for char in ref:
        if char.isdigit():
            break
        index = index * 26 + (ord(char) - 64)
    return index - 1


def _iterparse_children(source, parent_tag: str, child_tag: str):
    """Yield each complete `child_tag` element under `parent_tag`, then drop it (constant memory)."""
    import xml.etree.ElementTree as ET

    parent = None
    # Same parser openpyxl itself uses without defusedxml; expat >= 2.4.1 refuses entity-expansion
    # bombs and ElementTree never fetches external entities.
    for event, element in ET.iterparse(source, events=("start", "end")):  # noqa: S314
        if event == "start":
            if element.tag == parent_tag:
                parent = element
        elif element.tag == child_tag:
            yield element
            if parent is not None:
                parent.clear()


def _fast_string_table(source) -> list[str]:
    """openpyxl's shared-string table, read about 5× faster (plain text of each <si>, phonetics left out)."""
    t_tag, r_tag = f"{_NS}t", f"{_NS}r"
    strings = []
    for node in _iterparse_children(source, f"{_NS}sst", f"{_NS}si"):
        t = node.find(t_tag)
        text = (t.text or "") if t is not None else "".join(r.findtext(t_tag) or "" for r in node.iter(r_tag))
        strings.append(text.replace("x005F_", "") if "x005F_" in text else text)
    return strings


def _open_workbook(raw) -> tuple:
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
                reader.shared_strings = _fast_string_table(src)

    def read_worksheets():
        sheets.extend(rel.target for _sheet, rel in reader.parser.find_sheets() if "chartsheet" not in rel.Type)

    reader.read_strings = read_strings
    reader.read_worksheets = read_worksheets
    reader.read()
    if not sheets:
        raise ValueError("The workbook has no worksheet.")
    return reader.wb, sheets[0], reader.shared_strings


def _xlsx_fast_rows(workbook, sheet_path: str, shared: list) -> Iterator[tuple[int, tuple]]:
    """Values of the sheet's rows straight from its XML with the C ElementTree parser: numbers, shared and
    inline strings, booleans and dates (by the workbook's date styles), as openpyxl's values_only rows."""
    from openpyxl.utils.datetime import from_excel

    date_styles = {str(i) for i in workbook._date_formats}
    epoch = workbook.epoch
    source = workbook._archive.open(sheet_path)
    row_tag, cell_tag, value_tag, inline_tag = f"{_NS}row", f"{_NS}c", f"{_NS}v", f"{_NS}is"
    sheet_data_tag = f"{_NS}sheetData"

    def rows():
        counter = 0
        with source:
            for element in _iterparse_children(source, sheet_data_tag, row_tag):
                counter = int(element.get("r") or counter + 1)
                values: list = []
                for cell in element.iter(cell_tag):
                    ref = cell.get("r")
                    if ref:
                        column = _column_index(ref)
                        if column > len(values):
                            values.extend([None] * (column - len(values)))
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


def parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("/", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"不是日期（应为 YYYY-MM-DD）：{value!r}") from None


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
        number = int(text)
    if number < 0:
        raise ValueError(f"不能为负数：{value!r}")
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
    if not 0 <= number < U64:
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
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"不是时间（应为 YYYY-MM-DD HH:MM:SS）：{value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment


def parse_status(value) -> str:
    text = str(value if value is not None else "").strip()
    if len(text) > 20 or any(c in text for c in "\t\n\r\\"):
        raise ValueError(f"状态过长或含非法字符：{value!r}")
    return text


def msg_id_to_signed(msg_id: int) -> int:
    """Store an unsigned 64-bit id in a signed BIGINT with the same bits."""
    return msg_id - U64 if msg_id >= I64 else msg_id


def msg_id_from_signed(stored: int) -> int:
    return stored + U64 if stored < 0 else stored


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
