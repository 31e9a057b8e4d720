"""Signals the contracts app sends. Apps above it (docs/architecture.md) answer them, so contracts needs to
import none of them."""

from django.dispatch import Signal

# Sent by the deadline reminders with `contract=` and `today=`; each receiver returns a list of
# (kind, deadline date, what) for deadlines it owns (billing: "bill_due", "bond_refund").
contract_deadlines = Signal()
