"""Writes in the assessment app that other apps call."""


def assessment_lock(*, assessment_id: int) -> None:
    """Lock an assessment once an issued statement uses it. Interface stub: the assessment app fills this in."""


def fault_ticket_open_automatic(
    *, contract_id: int | None, severity: str, description: str, reported_at
) -> None:
    """Open a fault ticket on the gateway's behalf (every node down, or one down too long).

    Interface stub: the assessment app fills this in.
    """
