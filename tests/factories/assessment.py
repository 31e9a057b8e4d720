"""Factories for the assessment app."""

from datetime import UTC, datetime

import factory

from assessment.models import Assessment, Complaint, FaultTicket
from factories.contracts import ContractFactory

FULL_SCORES = {"sending": 30, "ops_timeliness": 20, "ops_compliance": 20, "emergency": 30}


class AssessmentFactory(factory.django.DjangoModelFactory):
    """A draft with full marks; use `assessment_record` for anything the rules must check."""

    class Meta:
        model = Assessment

    contract = factory.SubFactory(ContractFactory)
    year = 2025
    month = 10
    scores = factory.LazyFunction(lambda: dict(FULL_SCORES))
    total = 100
    payment_ratio = "1.00"


class FaultTicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaultTicket

    contract = factory.SubFactory(ContractFactory)
    reported_at = datetime(2025, 10, 8, 1, 0, tzinfo=UTC)
    reported_by = "值班民警"
    severity = FaultTicket.Severity.MINOR
    description = factory.Sequence(lambda n: f"短信网关节点{n}中断")


class ComplaintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Complaint

    contract = factory.SubFactory(ContractFactory)
    received_at = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)
    received_by = "police"
    channel = Complaint.Channel.PHONE
    complainant_mobile = "13912345678"
    subject = "未收到违法告知短信"
    responsible_side = Complaint.Responsibility.POLICE
