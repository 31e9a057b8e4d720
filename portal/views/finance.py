"""Finance pages (/finance/): statements by month with PDF, invoices, payments with their allocation shown
first, arrears ageing, prepayment balance and bond status. Finance enters payments; police staff and
auditors may read."""

from datetime import date

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone

from billing.selectors import (
    arrears_ageing,
    bond_refund_due_on,
    invoices_for_contract,
    payments_for_contract,
    prepayment_balance_history,
    statement_list,
)
from billing.services.payments import confirmed_amount, payment_enter
from contracts.selectors import contract_list_for_user
from portal.access import AUDITOR, FINANCE, POLICE, contract_for_user_or_404, permission_or_403, role_required
from portal.selectors import with_sheet_flags
from sms_contract.exceptions import ApplicationError
from sms_contract.form_fields import YuanField


def _contract_finance(contract, today: date) -> dict:
    bond = getattr(contract, "bond", None)
    statements = with_sheet_flags(list(statement_list(contract=contract).order_by("-year", "-month", "-sequence")[:36]))
    return {
        "contract": contract,
        "statements": statements,
        "ageing": arrears_ageing(contract=contract, today=today),
        "prepayment_history": prepayment_balance_history(contract=contract),
        "prepayment": getattr(contract, "prepayment", None),
        "bond": bond,
        "bond_refund_due_on": bond_refund_due_on(contract=contract),
        "invoices": invoices_for_contract(contract=contract)[:36],
        "payments": payments_for_contract(contract=contract)[:36],
    }


@role_required(FINANCE, POLICE, AUDITOR)
def index(request):
    today = timezone.localdate()
    blocks = [_contract_finance(c, today) for c in contract_list_for_user(user=request.user)]
    return render(request, "portal/finance_index.html", {"blocks": blocks, "today": today})


class PaymentForm(forms.Form):
    paid_on = forms.DateField(label="付款日期", widget=forms.DateInput(attrs={"type": "date"}))
    amount = YuanField(label="金额（元）")
    reference = forms.CharField(label="付款凭证号", max_length=100)


@role_required(FINANCE)
def payment(request, contract_id: int):
    """Step 1 shows where the money would go (oldest due first, 5.5); step 2 records it."""
    permission_or_403(request.user, "billing.add_payment")
    contract = contract_for_user_or_404(request.user, contract_id)
    form = PaymentForm(request.POST or None, initial={"paid_on": timezone.localdate()})
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = payment_enter(
                contract=contract,
                paid_on=data["paid_on"],
                amount_fen=data["amount"],
                reference=data["reference"],
                recorded_by=request.user,
                confirmed_fen=confirmed_amount(request.POST.get("action"), request.POST.get("previewed")),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            if entry.payment is not None:
                messages.success(request, f"付款 {entry.payment.reference} 已登记。")
                return redirect("finance:index")
            preview = entry.preview
    return render(
        request,
        "portal/finance_payment.html",
        {
            "contract": contract,
            "form": form,
            "preview": preview,
            "amount_fen": form.cleaned_data.get("amount") if preview else None,
        },
    )
