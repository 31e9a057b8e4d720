"""Taking a bill or success-count file from a web request: refused at once when it is too large or an XLSX
that would inflate beyond the limits; read right away when small; otherwise stored and read by a Celery
worker while the uploader watches its state (docs/adr/0080)."""

import contextlib
import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from billing.files import BillFileError, check_upload_size, inspect_upload, progress_callback, upload_limits
from billing.models import BillingUpload, CarrierBill, SuccessCountImport
from billing.services.bills import carrier_bill_upload
from billing.services.imports import success_counts_import
from contracts.models import Contract
from ops.services import task_enqueue
from sms_contract.exceptions import ApplicationError

logger = logging.getLogger(__name__)
PROGRESS_TTL = 24 * 3600

# The worker task that reads a queued file (billing.tasks); queued by name, so this module needs no tasks import.
PROCESS_TASK = "billing.tasks.billing_upload_process_task"


def _progress_key(pk: int) -> str:
    return f"billing:upload:{pk}:rows"


def upload_size(file) -> int:
    size = getattr(file, "size", None)
    if size is None:
        raw = getattr(file, "file", file)
        raw.seek(0, 2)
        size = raw.tell()
        raw.seek(0)
    return size


MULTIPART_SLACK = 64 * 1024  # the form's other fields and the multipart boundaries


def check_request_size(content_length) -> None:
    """Refuse (413 `file_too_large`) a request whose declared body is above the upload limit, before the body
    is read at all."""
    try:
        length = int(content_length or 0)
    except (TypeError, ValueError):
        return
    limits = upload_limits()
    if length > limits.max_bytes + MULTIPART_SLACK:
        check_upload_size(length, limits)


def billing_file_accept(
    *,
    kind: str,
    contract: Contract,
    file,
    filename: str,
    uploaded_by,
    period: tuple[int, int] | None = None,
) -> CarrierBill | SuccessCountImport | BillingUpload:
    """Check the file (size, XLSX structure: BillFileError at once), then read it now when it is at most
    BILLING_UPLOAD_INLINE_MAX_BYTES (the bill or import is returned), else store it and queue
    `billing.tasks.billing_upload_process_task` (the BillingUpload is returned, state queued)."""
    inspect_upload(file, upload_limits())
    size = upload_size(file)
    if size <= settings.BILLING_UPLOAD_INLINE_MAX_BYTES:
        return _process(
            kind=kind, contract=contract, file=file, filename=filename, uploaded_by=uploaded_by, period=period
        )

    year, month = period or (None, None)
    with transaction.atomic():
        upload = BillingUpload(
            kind=kind,
            contract=contract,
            year=year,
            month=month,
            filename=filename[:255],
            size=size,
            uploaded_by=uploaded_by,
        )
        getattr(file, "file", file).seek(0)
        upload.file.save(f"{kind}.bin", file if hasattr(file, "chunks") else File(file), save=False)
        upload.save()
        task_enqueue(PROCESS_TASK, upload.pk)
    logger.info("billing: upload %s (%s, %d bytes) queued", upload.pk, kind, size)
    return upload


def _process(*, kind, contract, file, filename, uploaded_by, period):
    if kind == BillingUpload.Kind.CARRIER_BILL:
        return carrier_bill_upload(
            contract=contract, period=period, uploaded_by=uploaded_by, file=file, filename=filename
        )

    return success_counts_import(contract=contract, file=file, filename=filename, uploaded_by=uploaded_by)


def billing_upload_process(*, upload_id: int) -> BillingUpload | None:
    """Read a queued upload (the Celery task). Runs again harmlessly: a finished upload is left alone. The file
    is deleted once read: the bill or import keeps what was in it."""
    upload = BillingUpload.objects.select_related("contract", "uploaded_by").filter(pk=upload_id).first()
    if upload is None or upload.state in (BillingUpload.State.DONE, BillingUpload.State.FAILED):
        return upload
    upload.state, upload.started_at = BillingUpload.State.RUNNING, timezone.now()
    upload.save(update_fields=["state", "started_at"])
    key = _progress_key(upload.pk)
    token = progress_callback.set(lambda rows: cache.set(key, rows, PROGRESS_TTL))
    period = (upload.year, upload.month) if upload.year else None
    try:
        with upload.file.open("rb") as file:
            result = _process(
                kind=upload.kind,
                contract=upload.contract,
                file=file,
                filename=upload.filename,
                uploaded_by=upload.uploaded_by,
                period=period,
            )
    except ApplicationError as exc:
        upload.state = BillingUpload.State.FAILED
        upload.error_code, upload.error_detail = exc.code, exc.detail
        upload.errors = exc.extra.get("errors", [])
        upload.error_count = exc.extra.get("error_count", len(upload.errors))
    except SoftTimeLimitExceeded:
        upload.state = BillingUpload.State.FAILED
        upload.error_code = "timeout"
        upload.error_detail = (
            f"文件处理超过 {settings.BILLING_UPLOAD_TASK_TIME_LIMIT} 秒，未导入。 (Reading the file took too long.)"
        )
    else:
        upload.state = BillingUpload.State.DONE
        if isinstance(result, CarrierBill):
            upload.carrier_bill, upload.rows_read = result, result.record_count or result.days.count()
        else:
            upload.success_import, upload.rows_read = result, result.rows
    finally:
        progress_callback.reset(token)
    upload.finished_at = timezone.now()
    with contextlib.suppress(OSError):
        upload.file.delete(save=False)
    upload.save()
    cache.delete(key)
    logger.info("billing: upload %s %s", upload.pk, upload.state)
    return upload


def billing_upload_status(upload: BillingUpload) -> dict:
    """What the uploader sees: state, rows read so far, errors with rows and columns, the result."""
    rows = upload.rows_read
    if upload.state == BillingUpload.State.RUNNING:
        rows = cache.get(_progress_key(upload.pk)) or 0
    result_url = ""
    if upload.carrier_bill_id:
        result_url = f"/portal/bills/{upload.carrier_bill_id}/"
    return {
        "id": upload.pk,
        "kind": upload.kind,
        "state": upload.state,
        "state_display": upload.get_state_display(),
        "filename": upload.filename,
        "size": upload.size,
        "rows_read": rows,
        "created_at": upload.created_at.isoformat() if upload.created_at else None,
        "finished_at": upload.finished_at.isoformat() if upload.finished_at else None,
        "carrier_bill": upload.carrier_bill_id,
        "success_import": upload.success_import_id,
        "result_url": result_url,
        "code": upload.error_code,
        "detail": upload.error_detail,
        "errors": upload.errors,
        "error_count": upload.error_count,
    }


__all__ = ["BillFileError", "billing_file_accept", "billing_upload_process", "billing_upload_status"]
