"""The carrier's portal (乙方门户): their bills with the reconciliation, tickets, complaints, statements and
assessment sheets. Only carrier staff (and superusers); only their own party's contracts."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from assessment import services
from assessment.selectors import (
    clock_views,
    complaint_clocks,
    complaints_for_user,
    fault_ticket_clocks,
    fault_tickets_for_user,
)
from billing.selectors import (
    UploadKind,
    UploadState,
    carrier_bills_for_user,
    reconciliation_for_bill,
    statements_for_user,
    upload_is_queued,
    uploads_for_user,
)
from billing.services.uploads import billing_file_accept, billing_upload_status, check_request_size
from contracts.selectors import contract_list_for_user
from portal.access import CARRIER, permission_or_403, role_required
from portal.forms import BillUploadForm, ComplaintStepForm, TicketStepForm
from portal.selectors import with_sheet_flags
from sms_contract.exceptions import ApplicationError


def _is_xhr(request) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _index_context(request, form=None, errors=None, error_detail=""):
    contracts = contract_list_for_user(user=request.user)
    now = timezone.now()
    tickets = [
        (t, clock_views(fault_ticket_clocks(t), now=now))
        for t in _tickets_for(request.user).select_related("contract")[:50]
    ]
    complaints = [
        (c, clock_views(complaint_clocks(c), now=now))
        for c in _complaints_for(request.user).select_related("contract")[:50]
    ]
    return {
        "contracts": contracts,
        "form": form or BillUploadForm(user=request.user),
        "bills": carrier_bills_for_user(user=request.user)[:24],
        "uploads": uploads_for_user(user=request.user).filter(kind="carrier_bill")[:10],
        "statements": with_sheet_flags(
            list(statements_for_user(user=request.user).select_related("contract").order_by("-year", "-month")[:24])
        ),
        "tickets": tickets,
        "complaints": complaints,
        "errors": errors,
        "error_detail": error_detail,
        "ticket_form": TicketStepForm(),
        "complaint_form": ComplaintStepForm(),
    }


def _tickets_for(user):
    return fault_tickets_for_user(user=user)


def _complaints_for(user):
    return complaints_for_user(user=user)


@role_required(CARRIER)
def index(request):
    return render(request, "portal/carrier_index.html", _index_context(request))


@role_required(CARRIER)
@require_POST
def bill_upload(request):
    """Multipart upload of the month's bill. XHR callers get JSON (the page shows progress and an error
    table); plain form posts get the page again with the errors, or the reconciliation."""

    permission_or_403(request.user, "billing.add_carrierbill")
    try:  # before the body is read
        check_request_size(request.META.get("CONTENT_LENGTH"))
    except ApplicationError as exc:
        return _upload_failed(request, None, exc.detail, exc.extra.get("errors", []), exc.status_code, exc.code)
    form = BillUploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        errors = [{"row": "", "column": field, "message": " ".join(msgs)} for field, msgs in form.errors.items()]
        return _upload_failed(request, form, "表单有误。", errors, 400)
    upload = form.cleaned_data["file"]
    try:
        bill = billing_file_accept(
            kind=UploadKind.CARRIER_BILL,
            contract=form.cleaned_data["contract"],
            period=form.cleaned_data["period"],
            uploaded_by=request.user,
            file=upload,
            filename=upload.name,
        )
    except ApplicationError as exc:
        return _upload_failed(request, form, exc.detail, exc.extra.get("errors", []), exc.status_code, exc.code)
    if upload_is_queued(bill):  # large: a worker reads it; the page follows its state
        url = f"/portal/uploads/{bill.pk}/"
        if _is_xhr(request):
            return JsonResponse({"ok": True, "upload": bill.pk, "status_url": url, "state": bill.state}, status=202)
        return redirect(url)
    url = f"/portal/bills/{bill.pk}/"
    if _is_xhr(request):
        return JsonResponse({"ok": True, "bill": bill.pk, "url": url}, status=201)
    messages.success(request, f"账单 {bill.filename} 已上传。")
    return redirect(url)


def _upload_failed(request, form, detail: str, errors: list, status: int, code: str = "invalid"):
    if _is_xhr(request):
        return JsonResponse({"ok": False, "code": code, "detail": detail, "errors": errors}, status=status)
    return render(request, "portal/carrier_index.html", _index_context(request, form, errors, detail), status=status)


@role_required(CARRIER)
def upload_status(request, pk: int):
    """A queued bill file: JSON for the upload page's polling, or a page that refreshes itself until done."""

    upload = get_object_or_404(uploads_for_user(user=request.user), pk=pk)
    status = billing_upload_status(upload)
    if _is_xhr(request) or request.GET.get("format") == "json":
        return JsonResponse(status)
    if upload.state == UploadState.DONE and status["result_url"]:
        return redirect(status["result_url"])
    return render(request, "portal/upload_status.html", {"upload": upload, "status": status})


@role_required(CARRIER)
def bill_detail(request, pk: int):
    bill = get_object_or_404(carrier_bills_for_user(user=request.user), pk=pk)
    return render(request, "portal/carrier_bill.html", {"bill": bill, "rec": reconciliation_for_bill(bill)})


TICKET_STEPS = {"respond": "fault_ticket_respond", "arrive": "fault_ticket_arrive", "recover": "fault_ticket_recover"}
COMPLAINT_STEPS = {"reply": "complaint_reply", "pass": "complaint_pass", "resolve": "complaint_resolve"}


@role_required(CARRIER)
@require_POST
def ticket_step(request, pk: int, step: str):
    permission_or_403(request.user, "assessment.change_faultticket")
    if step not in TICKET_STEPS:
        raise Http404
    ticket = get_object_or_404(_tickets_for(request.user), pk=pk)
    form = TicketStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{ticket}：{form.errors.as_text()}")
        return redirect("portal:index")
    extra = {}
    if step == "recover":
        extra = {"cause": form.cleaned_data["cause"], "solution": form.cleaned_data["solution"]}
    try:
        getattr(services, TICKET_STEPS[step])(ticket=ticket, at=form.cleaned_data["at"], **extra)
    except ApplicationError as exc:
        messages.error(request, f"{ticket}：{exc.detail}")
    else:
        messages.success(request, f"{ticket} 已记录。")
    return redirect("portal:index")


@role_required(CARRIER)
@require_POST
def complaint_step(request, pk: int, step: str):
    permission_or_403(request.user, "assessment.change_complaint")
    if step not in COMPLAINT_STEPS:
        raise Http404
    complaint = get_object_or_404(_complaints_for(request.user), pk=pk)
    form = ComplaintStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{complaint}：{form.errors.as_text()}")
        return redirect("portal:index")
    kwargs = {"complaint": complaint, "at": form.cleaned_data["at"]}
    if step in ("pass", "resolve"):
        kwargs["responsible_side"] = form.cleaned_data["responsible_side"]
    if step == "resolve":
        kwargs["outcome"] = form.cleaned_data["outcome"]
    try:
        getattr(services, COMPLAINT_STEPS[step])(**kwargs)
    except ApplicationError as exc:
        messages.error(request, f"{complaint}：{exc.detail}")
    else:
        messages.success(request, f"{complaint} 已记录。")
    return redirect("portal:index")
