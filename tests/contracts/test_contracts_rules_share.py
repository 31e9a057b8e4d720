"""The contract's shares of its total (prepayment 5.3, bond 5.2) come from one rule; the seed contract's figures."""

from decimal import Decimal

import pytest

from contracts.rules import share_of_total_fen
from contracts.selectors import contract_terms


def test_ten_percent_of_1_440_000_yuan_is_144_000_yuan():
    assert share_of_total_fen(144_000_000, Decimal("0.10")) == 14_400_000


def test_a_share_rounds_half_up_once():
    assert share_of_total_fen(5, Decimal("0.10")) == 1  # 0.5 fen -> 1
    assert share_of_total_fen(4, Decimal("0.10")) == 0  # 0.4 fen -> 0


@pytest.mark.django_db
def test_the_model_and_the_terms_agree(contract):
    terms = contract_terms(contract)
    assert contract.prepayment_fen == terms.prepayment_fen == 14_400_000
    assert contract.bond_fen == terms.bond_fen == 14_400_000
