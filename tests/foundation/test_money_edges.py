"""One reader for yuan typed by people or sent by clients (sms_contract.money.parse_yuan), used by the admin,
/finance/, the API field and the contract loader; one unit-price format for the API and the statement PDF."""

from decimal import Decimal

import pytest
from rest_framework import serializers

from sms_contract.api_fields import FenAsYuanField
from sms_contract.form_fields import YuanField
from sms_contract.money import YuanParseError, format_unit_price, parse_yuan


@pytest.mark.parametrize(
    ("text", "fen"), [("144000.00", 14_400_000), ("1,440,000.00", 144_000_000), (" 0.03 ", 3), ("7", 700)]
)
def test_parse_yuan_reads_exact_fen(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "code"),
    [("abc", "not_a_number"), ("NaN", "not_a_number"), ("Infinity", "not_a_number"), ("1.005", "too_precise")],
)
def test_parse_yuan_refuses_what_is_not_an_exact_amount(text, code):
    with pytest.raises(YuanParseError) as exc:
        parse_yuan(text)
    assert exc.value.code == code


def test_parse_yuan_positive():
    assert parse_yuan("-3") == -300
    with pytest.raises(YuanParseError, match="greater than 0"):
        parse_yuan("0", positive=True)


def test_the_form_field_gives_fen_and_chinese_messages():
    field = YuanField()
    assert field.clean("1,234.56") == 123456
    with pytest.raises(Exception, match="两位小数"):
        field.clean("1.234")
    assert field.prepare_value(123456) == "1234.56"  # an initial amount in fen is shown in yuan, not as a float


def test_the_api_field_keeps_plain_decimals():
    field = FenAsYuanField()
    assert field.to_internal_value("1234.56") == 123456
    assert field.to_representation(123456) == "1234.56"
    for bad in ("1,234.56", "1.001", "x"):
        with pytest.raises(serializers.ValidationError):
            field.to_internal_value(bad)


@pytest.mark.parametrize(
    ("price", "text"), [("0.0300", "0.03"), ("1", "1.00"), ("0.035", "0.035"), ("10", "10.00"), ("0.0001", "0.0001")]
)
def test_unit_price_format(price, text):
    assert format_unit_price(Decimal(price)) == text


def test_the_pure_billing_rules_pull_in_no_drf():
    import subprocess
    import sys

    code = "import sys, billing.rules; print(any(m.startswith(('rest_framework', 'drf_')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
