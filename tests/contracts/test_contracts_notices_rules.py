"""13.8.1 (which notices must be letters) and 13.8.2 (when a notice counts as delivered), pure."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.rules import notice_delivered_at, notice_method_allowed

TZ = ZoneInfo("Asia/Shanghai")
SENT = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
RECEIVED = SENT + timedelta(days=2, hours=5)


@pytest.mark.parametrize("method", ["registered_letter", "courier", "fax", "email"])
def test_delivered_at_the_receipt_time_for_every_method(method):
    """Letters: signature per the post/courier record; fax: arrival at the fax; e-mail: arrival in the mailbox."""
    assert notice_delivered_at(method=method, sent_at=SENT, received_at=RECEIVED) == RECEIVED


@pytest.mark.parametrize("method", ["registered_letter", "courier", "fax", "email"])
def test_refused_or_failed_by_the_recipient_counts_as_delivered_when_sent(method):
    assert notice_delivered_at(method=method, sent_at=SENT, received_at=None, failed_by_recipient=True) == SENT
    # even if a receipt time was entered, a refusal means the sending time
    assert notice_delivered_at(method=method, sent_at=SENT, received_at=RECEIVED, failed_by_recipient=True) == SENT


def test_not_yet_signed_is_not_delivered():
    assert notice_delivered_at(method="courier", sent_at=SENT, received_at=None) is None


def test_unknown_method_is_refused():
    with pytest.raises(ValueError):
        notice_delivered_at(method="pigeon", sent_at=SENT, received_at=RECEIVED)


@pytest.mark.parametrize("kind", ["fees", "breach", "termination", "renewal"])
@pytest.mark.parametrize(
    ("method", "allowed"), [("registered_letter", True), ("courier", True), ("fax", False), ("email", False)]
)
def test_kinds_1_to_4_must_be_letters(kind, method, allowed):
    assert notice_method_allowed(kind, method) is allowed


@pytest.mark.parametrize("method", ["registered_letter", "courier", "fax", "email"])
def test_other_notices_may_use_any_method(method):
    assert notice_method_allowed("other", method) is True
