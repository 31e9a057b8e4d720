"""The home page after login: the contract's figures at a glance, for every role."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils.safestring import mark_safe

from portal.access import AUDITOR, FINANCE, POLICE, has_role, is_carrier
from portal.selectors import dashboard, dashboard_contract


def nav_links(user) -> list[tuple[str, str]]:
    """(label, url) of the areas the user may open."""
    links = [("仪表板", "/")]
    if is_carrier(user):
        links.append(("乙方门户", "/portal/"))
    if has_role(user, FINANCE, POLICE, AUDITOR):
        links.append(("财务", "/finance/"))
    if has_role(user, POLICE, AUDITOR):
        links.append(("合同期限与通知", "/police/lifecycle/"))
        links.append(("审计日志", "/audit/"))
    if user.is_staff:
        links.append(("管理后台", "/admin/"))
    return links


@login_required
def home(request):
    contract_id = request.GET.get("contract") or ""
    if contract_id and not (contract_id.isascii() and contract_id.isdigit() and len(contract_id) <= 18):
        return HttpResponseBadRequest("contract 应为合同的数字编号。 (invalid_contract: a contract id.)")
    contract = dashboard_contract(user=request.user, contract_id=int(contract_id) if contract_id else None)
    data = dashboard(contract=contract) if contract is not None else None
    return render(
        request,
        "portal/dashboard.html",
        {
            "data": data,
            "volume_svg": mark_safe(data.volume_svg) if data else "",  # noqa: S308 - built by portal.charts, escaped there
            "rate_svg": mark_safe(data.rate_svg) if data else "",  # noqa: S308 - same
            "show_lifecycle": has_role(request.user, POLICE, FINANCE, AUDITOR),
        },
    )
