"""Carrier Msg_Ids in the database.

A CMPP Msg_Id is an unsigned 64-bit integer; PostgreSQL and SQLite have only signed 64-bit integers. We
store it by two's complement: values >= 2**63 become negative. The mapping is a bijection, so a stored id
always maps back to exactly the value the carrier sent and status reports always match.
"""

_TWO_64 = 1 << 64
_TWO_63 = 1 << 63


def to_db(msg_id: int) -> int:
    """Unsigned 64-bit Msg_Id -> signed BIGINT."""
    if not 0 <= msg_id < _TWO_64:
        raise ValueError(f"Msg_Id {msg_id} is not an unsigned 64-bit integer")
    return msg_id - _TWO_64 if msg_id >= _TWO_63 else msg_id


def from_db(value: int) -> int:
    """Signed BIGINT -> the unsigned 64-bit Msg_Id."""
    if not -_TWO_63 <= value < _TWO_63:
        raise ValueError(f"{value} is not a signed 64-bit integer")
    return value + _TWO_64 if value < 0 else value
