"""Reads from the gateway that other apps use. (Interface agreed between the apps; see docs/architecture.md.)"""

from datetime import date


def daily_success_units(*, contract_id: int, start: date, end: date) -> dict[date, int]:
    """Units sent successfully per day in [start, end] for a contract, on the contract's success basis
    (accepted by the carrier, or delivered). Days without traffic are absent.

    Interface stub: the sending service fills this from its daily counts.
    """
    return {}


def month_evidence(*, contract_id: int, year: int, month: int) -> dict:
    """The month's evidence for the assessment form: messages sent, delivery rate, share refused by the
    carrier, time with fewer than two healthy nodes. Interface stub until the sending service lands."""
    return {}


def carrier_msg_ids(*, contract_id: int, start: date, end: date):
    """The carrier Msg_Ids (unsigned 64-bit ints) of every segment we submitted successfully in [start, end]
    (days in Asia/Shanghai), for reconciling a detailed carrier bill. Returns an iterable of ints; it may be
    large (millions), so it streams. Interface stub until the sending service lands."""
    return iter(())
