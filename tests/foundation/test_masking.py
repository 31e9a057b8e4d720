import logging

from sms_contract.masking import mask_mobile, mask_mobiles_in_text
from sms_contract.money import format_fen, format_fen_grouped, yuan_to_fen


def test_mobiles_are_masked_to_three_and_four_digits():
    assert mask_mobile("13912345678") == "139****5678"
    assert mask_mobiles_in_text("to 13912345678 and +8613800138000, order 1234567890123") == (
        "to 139****5678 and 138****8000, order 1234567890123"
    )


def test_log_records_are_masked(caplog):
    from sms_contract.logging import MaskMobileFilter

    logger = logging.getLogger("test.masking")
    logger.addFilter(MaskMobileFilter())
    with caplog.at_level(logging.INFO, logger="test.masking"):
        logger.info("sent to %s", "13912345678")
    assert "13912345678" not in caplog.text
    assert "139****5678" in caplog.text


def test_money_rounds_half_up_and_formats_without_floats():
    assert yuan_to_fen("0.005") == 1
    assert yuan_to_fen("22222.2060") == 2222221
    assert format_fen(144_000_000) == "1440000.00"
    assert format_fen(-5) == "-0.05"
    assert format_fen_grouped(144_000_000) == "1,440,000.00"


def test_numbers_typed_full_width_or_percent_encoded_in_paths_are_masked():
    assert mask_mobiles_in_text("/api/v1/optouts/008613912345678/") == "/api/v1/optouts/139****5678/"
    encoded = "/api/v1/optouts/1%EF%BC%93%EF%BC%9912345678/"  # 1３９12345678
    assert mask_mobiles_in_text(encoded) == "/api/v1/optouts/139****5678/"
    assert mask_mobiles_in_text("给 １３９１２３４５６７８ 的") == "给 139****5678 的"
    assert mask_mobiles_in_text("/static/app%20v2.css") == "/static/app%20v2.css"
