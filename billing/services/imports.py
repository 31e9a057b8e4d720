"""Importing daily success counts sent by another system."""

from django.db import transaction

from billing.files import SUMMARY_COLUMNS, ErrorLog, iter_file_rows, map_header, read_daily_summary
from billing.models import ImportedDailyUnits, SuccessCountImport
from contracts.models import Contract


@transaction.atomic
def success_counts_import(*, contract: Contract, file, filename: str, uploaded_by=None) -> SuccessCountImport:
    """Import a file of daily success units (`date`,`units` or `日期`,`成功条数`). Each imported day replaces
    the gateway's figure for that day and any earlier import of it; the history keeps the old value.
    Any bad row: `BillFileError` with the rows, and nothing is imported."""
    errors = ErrorLog()
    rows = iter_file_rows(file)
    header = next(rows, None)
    columns = map_header(header[1]) if header else {}
    missing = [c for c in SUMMARY_COLUMNS if c not in columns]
    if missing:
        errors.add(1, ",".join(missing), "缺少列（应为 date,units 或 日期,成功条数）。")
    else:
        days = read_daily_summary(rows, columns, errors)
        if not errors and not days:
            errors.add(2, "date", "文件没有数据行。")
    errors.raise_if_any("成功条数文件")
    batch = SuccessCountImport.objects.create(
        contract=contract,
        filename=filename[:255],
        uploaded_by=uploaded_by,
        rows=len(days),
        first_day=min(days),
        last_day=max(days),
    )
    for day, units in sorted(days.items()):
        current = ImportedDailyUnits.objects.filter(contract=contract, day=day).first()
        if current is None:
            ImportedDailyUnits.objects.create(contract=contract, day=day, units=units, source=batch)
        else:
            current.units, current.source = units, batch
            current.save(update_fields=["units", "source"])
    return batch
