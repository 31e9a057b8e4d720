"""Bill and success-count files are bounded before and while they are read: no zip bomb inflated, no
unbounded row, line, string or table held in memory; each refusal has a code and, where there is one, the row."""

import io

import pytest
from factories.billing import NS
from factories.billing import minimal_xlsx as xlsx

from billing.files import BillFileError, UploadLimits, inspect_upload, iter_file_rows


def refusal(file, limits=None) -> BillFileError:
    with pytest.raises(BillFileError) as err:
        for _ in iter_file_rows(file, limits):
            pass
    return err.value


LOOSE = UploadLimits(max_ratio=10**9)  # the zip directory lets everything through: the stream limits must hold


def test_a_well_formed_workbook_is_read():
    rows = list(
        iter_file_rows(
            xlsx(rows=b'<row r="2"><c r="A2" t="inlineStr"><is><t>2025-10-01</t></is></c><c r="B2"><v>7</v></c></row>')
        )
    )
    assert rows == [(1, ("date", "units")), (2, ("2025-10-01", 7))]


def test_shared_strings_bomb_is_refused_from_the_zip_directory_before_inflating():
    bomb = xlsx(strings=f'<sst xmlns="{NS}"><si><t>'.encode() + b"A" * 20_000_000 + b"</t></si></sst>")
    assert len(bomb.getvalue()) < 100_000
    err = refusal(bomb)
    assert err.code == "xlsx_refused" and err.status_code == 400
    assert "xl/sharedStrings.xml" in err.extra["errors"][0]["message"] and "压缩比" in err.extra["errors"][0]["message"]


def test_empty_rows_bomb_is_refused_from_the_zip_directory_before_inflating():
    err = refusal(xlsx(rows=b"<row/>" * 3_000_000))
    assert err.code == "xlsx_refused" and "xl/worksheets/sheet1.xml" in err.extra["errors"][0]["message"]


def test_total_inflated_size_is_bounded_even_at_a_plausible_ratio():
    err = refusal(xlsx(rows=b"<row/>" * 1000), UploadLimits(max_inflated_bytes=5_000))
    assert err.code == "xlsx_refused" and "解压后" in err.extra["errors"][0]["message"]


def test_parts_openpyxl_parses_whole_must_stay_small():
    import zipfile as zf

    out = io.BytesIO(xlsx().getvalue())
    with zf.ZipFile(out, "a", compression=zf.ZIP_DEFLATED) as archive:
        archive.writestr("xl/styles.xml", b"<styleSheet>" + b"<x/>" * 5000 + b"</styleSheet>")
    out.seek(0)
    err = refusal(out, UploadLimits(max_ratio=10**9, max_small_part_bytes=10_000))
    assert err.code == "xlsx_refused" and "xl/styles.xml" in err.extra["errors"][0]["message"]


def test_a_string_longer_than_a_cell_is_refused_while_streaming_without_building_it():
    bomb = xlsx(strings=f'<sst xmlns="{NS}"><si><t>'.encode() + b"A" * 2_000_000 + b"</t></si></sst>")
    err = refusal(bomb, LOOSE)
    assert err.code == "xlsx_refused" and "32767" in err.extra["errors"][0]["message"]


def test_a_string_just_over_the_cell_limit_is_refused_after_parsing():
    long_text = f'<sst xmlns="{NS}"><si><t>date</t></si><si><t>'.encode() + b"B" * 32_768 + b"</t></si></sst>"
    assert refusal(xlsx(strings=long_text)).code == "xlsx_refused"


def test_rows_beyond_the_limit_are_refused_with_the_row():
    rows = b"".join(b'<row r="%d"><c r="B%d"><v>1</v></c></row>' % (n, n) for n in range(2, 12))
    err = refusal(xlsx(rows=rows), UploadLimits(max_rows=5))
    assert err.code == "too_many_rows" and err.extra["errors"][0]["row"] == 6


def test_empty_rows_count_towards_the_row_limit_at_their_row_number():
    err = refusal(xlsx(rows=b'<row r="99999999"/>'), UploadLimits(max_rows=1000))
    assert err.code == "too_many_rows" and err.extra["errors"][0]["row"] == 99999999


def test_shared_string_count_is_bounded():
    many = f'<sst xmlns="{NS}">'.encode() + b"<si><t>x</t></si>" * 50 + b"</sst>"
    err = refusal(xlsx(strings=many), UploadLimits(max_shared_strings=10))
    assert err.code == "xlsx_refused" and "字符串多于 10" in err.extra["errors"][0]["message"]


def test_cells_far_to_the_right_are_ignored_not_allocated():
    rows = list(iter_file_rows(xlsx(rows=b'<row r="2"><c r="ZZZZZZZ2"><v>1</v></c><c r="B2"><v>3</v></c></row>')))
    assert rows[1] == (2, (None, 3))


def test_a_row_with_too_many_elements_is_refused():
    row = b'<row r="2">' + b"<c><v>1</v></c>" * 5000 + b"</row>"
    assert refusal(xlsx(rows=row)).code == "xlsx_refused"


def test_a_dtd_in_a_part_is_refused():
    doctype = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'
    assert refusal(xlsx(prolog=doctype)).code == "xlsx_refused"


def test_a_damaged_sheet_is_a_bad_file_not_a_crash():
    err = refusal(xlsx(rows=b'<row r="2"><c r="A2" t="s"><v>999</v></c></row>'))
    assert err.code == "bad_file"


def test_csv_line_longer_than_the_limit_is_refused_with_its_line():
    text = b"date,units\n2025-10-01,1\n" + b"x" * 5000 + b"\n"
    err = refusal(io.BytesIO(text), UploadLimits(max_line_chars=1000))
    assert err.code == "line_too_long" and err.extra["errors"][0]["row"] == 3


def test_csv_line_at_the_limit_is_read():
    line = "2025-10-01," + "1" * 10
    rows = list(
        iter_file_rows(io.BytesIO(f"date,units\r\n{line}\r\n".encode()), UploadLimits(max_line_chars=len(line)))
    )
    assert rows[1] == (2, ("2025-10-01", "1" * 10))


def test_csv_rows_beyond_the_limit_are_refused_with_the_row():
    text = "date,units\n" + "".join(f"2025-10-{d:02d},1\n" for d in range(1, 20))
    err = refusal(io.BytesIO(text.encode()), UploadLimits(max_rows=10))
    assert err.code == "too_many_rows" and err.extra["errors"][0]["row"] == 11


def test_file_above_the_size_limit_is_refused_with_413():
    with pytest.raises(BillFileError) as err:
        inspect_upload(io.BytesIO(b"date,units\n" + b"2025-10-01,1\n" * 100), UploadLimits(max_bytes=500))
    assert err.value.code == "file_too_large" and err.value.status_code == 413
