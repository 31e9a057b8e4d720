"""Money after the statement: invoices, payments allocated oldest-first (5.5), prepayment, bond."""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import F

from billing import rules
from billing.models import CreditOffset, Invoice, Payment, PaymentAllocation, PerformanceBond, Prepayment, Statement
from billing.selectors import debts_of
from contracts.models import Contract
from contracts.selectors import contract_terms
from sms_contract.exceptions import ApplicationError


@dataclass(frozen=True)
class AllocationPreview:
    """What a payment would settle, shown before it is saved: (statement, fen) oldest due first."""

    lines: tuple[tuple[Statement, int], ...]
    unallocated_fen: int


def payment_allocation_preview(*, contract: Contract, amount_fen: int) -> AllocationPreview:
    if amount_fen <= 0:
        raise ApplicationError("bad_amount", "付款金额必须大于 0。")
    allocation = rules.allocate_payment(amount_fen, debts_of(contract=contract))
    statements = Statement.objects.in_bulk([key for key, _ in allocation.lines])
    return AllocationPreview(
        lines=tuple((statements[key], fen) for key, fen in allocation.lines),
        unallocated_fen=allocation.unallocated_fen,
    )


def _settle(statement: Statement, fen: int) -> None:
    Statement.objects.filter(pk=statement.pk).update(paid_fen=F("paid_fen") + fen)
    statement.refresh_from_db(fields=["paid_fen", "net_due_fen"])
    state = Statement.State.PAID if statement.paid_fen >= statement.net_due_fen else Statement.State.PARTLY_PAID
    if statement.state != state:
        statement.state = state
        statement.save(update_fields=["state"])


@transaction.atomic
def payment_record(*, contract: Contract, paid_on: date, amount_fen: int, reference: str, recorded_by=None) -> Payment:
    """Record a payment and settle the oldest outstanding statements first (5.5). What is left over is kept
    on the payment as `unallocated_fen` and used for the next statement issued (`payment_credits_apply`)."""
    if not reference.strip():
        raise ApplicationError("reference_required", "请填写付款凭证号。")
    list(Statement.objects.select_for_update().filter(contract=contract).values_list("pk", flat=True))
    preview = payment_allocation_preview(contract=contract, amount_fen=amount_fen)
    payment = Payment.objects.create(
        contract=contract,
        paid_on=paid_on,
        amount_fen=amount_fen,
        reference=reference.strip(),
        unallocated_fen=preview.unallocated_fen,
        recorded_by=recorded_by,
    )
    for statement, fen in preview.lines:
        PaymentAllocation.objects.create(payment=payment, statement=statement, amount_fen=fen)
        _settle(statement, fen)
    return payment


@dataclass(frozen=True)
class PaymentEntry:
    """One step of entering a payment by hand: the allocation to show (`preview`), or the `payment` recorded."""

    preview: AllocationPreview | None = None
    payment: Payment | None = None


def payment_enter(
    *,
    contract: Contract,
    paid_on: date,
    amount_fen: int,
    reference: str,
    recorded_by=None,
    confirmed_fen: int | None = None,
) -> PaymentEntry:
    """The two steps of entering a payment (admin and /finance/ alike): first show where the money would go
    (oldest due first, 5.5); record it only when the person confirms the very amount they were shown
    (`confirmed_fen`). Confirming a changed amount shows the allocation again and records nothing."""
    if confirmed_fen is not None and confirmed_fen == amount_fen:
        payment = payment_record(
            contract=contract, paid_on=paid_on, amount_fen=amount_fen, reference=reference, recorded_by=recorded_by
        )
        return PaymentEntry(payment=payment)
    return PaymentEntry(preview=payment_allocation_preview(contract=contract, amount_fen=amount_fen))


def confirmed_amount(action: str | None, previewed: str | None) -> int | None:
    """The amount a payment form's "confirm" button vouches for (the hidden `previewed` fen), else None."""
    if action != "confirm" or not previewed or not previewed.strip().isdigit():
        return None
    return int(previewed)


@transaction.atomic
def payment_credits_apply(*, contract: Contract) -> int:
    """Use unallocated payment credit (oldest payment first) on outstanding statements; returns fen used."""
    used = 0
    for payment in (
        Payment.objects.select_for_update().filter(contract=contract, unallocated_fen__gt=0).order_by("paid_on", "id")
    ):
        allocation = rules.allocate_payment(payment.unallocated_fen, debts_of(contract=contract))
        if not allocation.lines:
            break
        statements = Statement.objects.in_bulk([key for key, _ in allocation.lines])
        for key, fen in allocation.lines:
            PaymentAllocation.objects.create(payment=payment, statement=statements[key], amount_fen=fen)
            _settle(statements[key], fen)
            used += fen
        payment.unallocated_fen = allocation.unallocated_fen
        payment.save(update_fields=["unallocated_fen"])
    return used


def credit_left_fen(credit: Statement) -> int:
    """What an issued credit (negative amount due) still has to set against amounts due."""
    used = sum(CreditOffset.objects.filter(credit=credit).values_list("amount_fen", flat=True))
    return max(0, -credit.net_due_fen - used)


@transaction.atomic
def credit_offsets_apply(*, contract: Contract) -> int:
    """Set every issued credit (an adjustment statement with a negative amount due, oldest first) against the
    outstanding amounts due, oldest due first (5.5), until it is used up; what is left waits for the next
    statement issued. Returns fen offset. `statement_issue` runs this before payment credits."""
    used = 0
    credits = (
        Statement.objects.select_for_update()
        .filter(contract=contract, net_due_fen__lt=0, state__in=[Statement.State.PAID, Statement.State.ISSUED])
        .exclude(issued_at__isnull=True)
        .order_by("issued_at", "id")
    )
    for credit in credits:
        left = credit_left_fen(credit)
        if left == 0:
            continue
        allocation = rules.allocate_payment(left, [d for d in debts_of(contract=contract) if d.key != credit.pk])
        if not allocation.lines:
            break
        statements = Statement.objects.in_bulk([key for key, _ in allocation.lines])
        for key, fen in allocation.lines:
            CreditOffset.objects.create(credit=credit, statement=statements[key], amount_fen=fen)
            _settle(statements[key], fen)
            used += fen
    return used


def _refused(code: str, field: str, message: str) -> ApplicationError:
    return ApplicationError(code, message, extra={"errors": {field: [message]}})


def invoice_check(
    *,
    contract: Contract,
    number: str,
    amount_fen: int,
    issued_on: date,
    received_on: date | None = None,
    statement: Statement | None = None,
    invoice: Invoice | None = None,
) -> None:
    """Would this invoice be accepted (a new one, or `invoice` changed)? Raises ApplicationError naming the field."""
    if amount_fen <= 0:
        raise _refused("bad_amount", "amount", "发票金额必须大于 0。")
    if statement is not None and statement.contract_id != contract.pk:
        raise _refused("wrong_contract", "statement", "发票与结算单不属于同一合同。")
    same_number = Invoice.objects.filter(number=number.strip())
    if invoice is not None:
        same_number = same_number.exclude(pk=invoice.pk)
    if same_number.exists():
        raise _refused("duplicate_invoice", "number", f"发票号码 {number} 已登记。")
    if received_on is not None and received_on < issued_on:
        raise _refused("bad_date", "received_on", "收到日期不能早于开票日期。")


@transaction.atomic
def invoice_record(
    *,
    contract: Contract,
    number: str,
    amount_fen: int,
    issued_on: date,
    statement: Statement | None = None,
    received_on: date | None = None,
) -> Invoice:
    """A VAT special invoice for a statement (or, without one, for the prepayment)."""
    invoice_check(
        contract=contract,
        number=number,
        amount_fen=amount_fen,
        issued_on=issued_on,
        received_on=received_on,
        statement=statement,
    )
    return Invoice.objects.create(
        contract=contract,
        statement=statement,
        number=number.strip(),
        amount_fen=amount_fen,
        issued_on=issued_on,
        received_on=received_on,
    )


@transaction.atomic
def invoice_update(*, invoice: Invoice, amount_fen: int, received_on: date | None) -> Invoice:
    """Correct an invoice's amount or record when it arrived (number, contract, statement and date stay)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice_check(
        contract=invoice.contract,
        number=invoice.number,
        amount_fen=amount_fen,
        issued_on=invoice.issued_on,
        received_on=received_on,
        statement=invoice.statement,
        invoice=invoice,
    )
    invoice.amount_fen, invoice.received_on = amount_fen, received_on
    invoice.save(update_fields=["amount_fen", "received_on"])
    return invoice


def prepayment_check(*, contract: Contract, invoice: Invoice | None) -> None:
    if invoice is not None and invoice.contract_id != contract.pk:
        raise _refused("wrong_contract", "invoice", "发票不属于该合同。")


@transaction.atomic
def prepayment_record(*, contract: Contract, paid_on: date | None, invoice: Invoice | None = None) -> Prepayment:
    """The prepayment (5.3 method two), its amount from the contract figures (10% of the total)."""
    prepayment_check(contract=contract, invoice=invoice)
    prepayment, _ = Prepayment.objects.update_or_create(
        contract=contract,
        defaults={"amount_fen": contract_terms(contract).prepayment_fen, "paid_on": paid_on, "invoice": invoice},
    )
    return prepayment


def bond_check(*, form: str, received_on: date | None = None, refunded_on: date | None = None) -> None:
    if form not in PerformanceBond.Form.values:
        raise _refused("bad_form", "form", "履约保证金应为保函、支票、汇票、本票等非现金形式。")
    if refunded_on is not None and (received_on is None or refunded_on < received_on):
        raise _refused("bad_date", "refunded_on", "退还日期不能早于收到日期（须先登记收到日期）。")


@transaction.atomic
def bond_record(
    *,
    contract: Contract,
    form: str,
    received_on: date | None,
    issuer: str = "",
    reference: str = "",
    refunded_on: date | None = None,
) -> PerformanceBond:
    """The performance bond (5.2), its amount from the contract figures (10% of the total), and when it was
    given back (`refunded_on`)."""
    bond_check(form=form, received_on=received_on, refunded_on=refunded_on)
    bond, _ = PerformanceBond.objects.update_or_create(
        contract=contract,
        defaults={
            "amount_fen": contract_terms(contract).bond_fen,
            "form": form,
            "received_on": received_on,
            "issuer": issuer,
            "reference": reference,
            "refunded_on": refunded_on,
        },
    )
    return bond
