"""One normalisation for what people type (sms_contract.textnorm): mobiles and the content shadow."""

import pytest

from sms_contract import textnorm


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("1３８12345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("١٣٨١٢٣٤٥٦٧٨", "13812345678"),  # Arabic-Indic digits
        ("+86 138-1234-5678", "13812345678"),
        ("＋８６１３８１２３４５６７８", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("138\u200b1234\u00ad5678", "13812345678"),
        ("(138) 1234.5678", "13812345678"),
    ],
)
def test_typed_mobiles_become_the_same_ascii_number(raw, expected):
    assert textnorm.mobile_normalize(raw) == expected


@pytest.mark.parametrize("raw", ["138１２３４５６７", "1381234567x", "²13812345678", "12812345678", "", "1" * 80])
def test_what_is_not_a_mainland_mobile_is_refused(raw):
    with pytest.raises(textnorm.InvalidMobile):
        textnorm.mobile_normalize(raw)


def test_lenient_digits_keep_other_lengths_for_bills():
    assert textnorm.mobile_digits("１０６５８") == "10658"
    with pytest.raises(textnorm.InvalidMobile):
        textnorm.mobile_digits("10658a")


@pytest.mark.parametrize(
    ("text", "compact"),
    [
        ("请开发 票", "请开发票"),
        ("请开发\n票", "请开发票"),
        ("请开\u00ad发\u200b票", "请开发票"),
        ("使用ＶＰＮ", "使用vpn"),
        ("ｗｗｗ．evil．com", "www.evil.com"),
        ("https：//evil.com", "https://evil.com"),
        ("\ufeff【别家】", "【别家】"),
    ],
)
def test_content_shadow_undoes_disguises(text, compact):
    assert textnorm.content_shadow(text).compact == compact


def test_content_shadow_folds_whitespace_to_one_space():
    assert textnorm.content_shadow("  a \t\n b\u3000c ").folded == "a b c"


@pytest.mark.parametrize("ch", ["\u202e", "\u202a", "\u2066", "\u2069", "\x85", "\x9f", "\x00", "\x7f"])
def test_bidi_overrides_and_c0_c1_controls_are_disguising(ch):
    assert textnorm.disguising_chars(f"a{ch}b") == [f"U+{ord(ch):04X}"]


def test_tab_newline_and_zero_width_space_are_not_disguising():
    assert textnorm.disguising_chars("a\tb\nc\r\u200bd") == []
