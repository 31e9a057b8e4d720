"""Reads about contracts. Other apps use these (and `ContractTerms`) rather than the models' internals."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from contracts.models import Contract, DeadlineReminder, FormalNotice, Party
from contracts.rules import Lifecycle, lifecycle, share_of_total_fen
from contracts.scheme import Part, RatioBand, parse_parts, parse_ratio_bands


@dataclass(frozen=True)
class ContractTerms:
    """The figures of one contract that the rules need, as plain values."""

    contract_id: int
    number: str
    signed_on: date
    activated_on: date | None
    unit_price: Decimal
    total_amount_fen: int
    prepayment_rate: Decimal
    bond_rate: Decimal
    billing_unit_chars: int
    bill_due_day: int
    late_fee_daily_rate: Decimal
    success_basis: str
    parts: tuple[Part, ...]
    ratio_bands: tuple[RatioBand, ...]

    @property
    def prepayment_fen(self) -> int:
        return share_of_total_fen(self.total_amount_fen, self.prepayment_rate)

    @property
    def bond_fen(self) -> int:
        return share_of_total_fen(self.total_amount_fen, self.bond_rate)


def contract_terms(contract: Contract) -> ContractTerms:
    return ContractTerms(
        contract_id=contract.pk,
        number=contract.number,
        signed_on=contract.signed_on,
        activated_on=contract.activated_on,
        unit_price=contract.unit_price,
        total_amount_fen=contract.total_amount_fen,
        prepayment_rate=contract.prepayment_rate,
        bond_rate=contract.bond_rate,
        billing_unit_chars=contract.billing_unit_chars,
        bill_due_day=contract.bill_due_day,
        late_fee_daily_rate=contract.late_fee_daily_rate,
        success_basis=contract.success_basis,
        parts=parse_parts(contract.assessment_parts),
        ratio_bands=parse_ratio_bands(contract.payment_ratio_bands),
    )


def contract_get(*, number: str) -> Contract:
    return Contract.objects.select_related("purchaser", "supplier").get(number=number)


def contract_list_for_user(*, user) -> QuerySet[Contract]:
    """Contracts a user may see: all for purchaser-side roles, only their own party's for carrier staff."""
    qs = Contract.objects.select_related("purchaser", "supplier")
    if user.is_superuser:
        return qs
    if user.groups.filter(name="carrier_staff").exists():
        return qs.filter(supplier__members=user)
    if not user.has_perm("contracts.view_contract"):
        return qs.none()
    return qs


def parties_of_user(*, user) -> QuerySet:
    return Party.objects.filter(Q(members=user))


def contract_lifecycle(contract: Contract, *, today: date):
    """The lifecycle dates of a contract (12.1, 12.2, 4.5, 7.2) given its delivered formal notices."""

    non_renewal = termination = None
    for notice in FormalNotice.objects.filter(contract=contract, ends_service=True):
        delivered = notice.delivered_at
        if delivered is None:
            continue
        delivered_on = timezone.localdate(delivered)
        if delivered_on > today:
            continue
        if notice.kind == FormalNotice.Kind.RENEWAL:
            non_renewal = min(non_renewal or delivered_on, delivered_on)
        elif notice.kind == FormalNotice.Kind.TERMINATION and notice.sender_id == contract.purchaser_id:
            # 4.5 binds 甲方 only ("除乙方根据本合同约定终止本合同以外"): 乙方's stop notice sets no earliest stop.
            termination = min(termination or delivered_on, delivered_on)
    return lifecycle(
        activated_on=contract.activated_on,
        service_months=contract.service_months,
        auto_renew=contract.auto_renew,
        renewal_notice_days=contract.renewal_notice_days,
        termination_notice_days=contract.termination_notice_days,
        confidentiality_years=contract.confidentiality_years,
        today=today,
        non_renewal_delivered_on=non_renewal,
        termination_delivered_on=termination,
        terminated_on=contract.terminated_on,
    )


def formal_notices_for(*, contract: Contract) -> QuerySet[FormalNotice]:
    """The contract's formal notices (13.8), with who sent them."""
    return FormalNotice.objects.filter(contract=contract).select_related("sender")


def deadline_reminders_for(*, contract: Contract) -> QuerySet[DeadlineReminder]:
    """The contract's deadline reminders, as the model orders them."""
    return DeadlineReminder.objects.filter(contract=contract)


__all__ = [  # what the other apps use (docs/architecture.md); `Contract` and `Lifecycle` for their type hints
    "Contract",
    "ContractTerms",
    "Lifecycle",
    "contract_lifecycle",
    "contract_list_for_user",
    "contract_terms",
    "deadline_reminders_for",
    "formal_notices_for",
]
