"""Pages for the purchaser's staff: contract lifecycle, formal notices and reminders (police and auditors)."""

from django.shortcuts import render
from django.utils import timezone

from contracts.selectors import contract_lifecycle, contract_list_for_user, deadline_reminders_for, formal_notices_for
from portal.access import AUDITOR, POLICE, role_required


@role_required(POLICE, AUDITOR)
def lifecycle(request):
    today = timezone.localdate()
    contracts = [
        (
            c,
            contract_lifecycle(c, today=today),
            formal_notices_for(contract=c)[:50],
            deadline_reminders_for(contract=c)[:20],
        )
        for c in contract_list_for_user(user=request.user)
    ]
    return render(request, "portal/police_lifecycle.html", {"contracts": contracts, "today": today})
