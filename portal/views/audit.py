"""The audit log page (auditors and police staff) and its CSV export."""

from django.http import HttpResponse
from django.shortcuts import render

from portal.access import AUDITOR, POLICE, role_required
from portal.audit import audit_changes, audited_models
from sms_contract.spreadsheets import csv_writer


def _params(request) -> tuple[str, int]:
    model_key = request.GET.get("model", "")
    try:
        limit = min(max(int(request.GET.get("limit", 100)), 1), 1000)
    except ValueError:
        limit = 100
    return model_key, limit


@role_required(AUDITOR, POLICE)
def log(request):
    model_key, limit = _params(request)
    return render(
        request,
        "portal/audit_log.html",
        {
            "changes": audit_changes(user=request.user, model_key=model_key, limit=limit),
            "models": [(m._meta.label_lower, m._meta.verbose_name) for m in audited_models()],
            "model_key": model_key,
            "limit": limit,
        },
    )


@role_required(AUDITOR, POLICE)
def log_csv(request):
    """The same rows as CSV (UTF-8 with BOM for Excel); numbers masked as on the page; formula-like cells
    escaped (sms_contract.spreadsheets)."""
    model_key, limit = _params(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    response.write("\ufeff")
    writer = csv_writer(response)
    writer.writerow(["时间", "用户", "操作", "对象类型", "对象", "字段", "修改前", "修改后", "原因"])
    for change in audit_changes(user=request.user, model_key=model_key, limit=limit):
        rows = change.fields or [("", "", "")]
        for label, before, after in rows:
            writer.writerow(
                [
                    change.when.isoformat(),
                    change.who,
                    change.action,
                    change.model,
                    change.object_repr,
                    label,
                    before,
                    after,
                    change.reason,
                ]
            )
    return response
