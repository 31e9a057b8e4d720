"""Content and recipient rules (pure)."""

import pytest

from gateway import rules
from gateway.rules import Limits, Refusal, RuleData, TemplateInfo

SIG = "【12123】"
PREFIXES = frozenset({"139", "138", "1340", "147", "198"})
TEMPLATES = {
    "violation": TemplateInfo("violation", "您的车辆{plate}于{when}违法，请及时处理。", "violation", True, True),
    "pending": TemplateInfo("pending", "待报备{x}", "general", False, True),
    "disabled": TemplateInfo("disabled", "停用{x}", "general", True, False),
    "plain": TemplateInfo("plain", "请访问 https://gab.122.gov.cn/ 查询。", "general", True, True),
}


def data(**overrides) -> RuleData:
    values = {
        "limits": Limits(signature=SIG, max_units=2, unit_chars=70),
        "scope_prefixes": PREFIXES,
        "ported": {"13900000001": "out", "13300000001": "in"},
        "opted_out": {"13900000002"},
        "templates": TEMPLATES,
        "forbidden_words": ("赌博", "Casino"),
        "allowed_links": ("https://gab.122.gov.cn/",),
        "allow_free_content": True,
    }
    values.update(overrides)
    return RuleData(**values)


def refusal_code(**kwargs) -> str:
    with pytest.raises(Refusal) as info:
        rules.prepare_message(data=kwargs.pop("data", data()), **kwargs)
    return info.value.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13912345678", "13912345678"),
        ("+8613912345678", "13912345678"),
        ("8613912345678", "13912345678"),
        ("008613912345678", "13912345678"),
        (" 139-1234-5678 ", "13912345678"),
        ("19812345678", "19812345678"),
    ],
)
def test_normalize_mobile_accepts_cn_mobiles(raw, expected):
    assert rules.normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "1391234567", "139123456789", "10012345678", "02512345678", "1391234567a", 13912345678, None, "+1391"]
)
def test_normalize_mobile_refuses_non_mobiles(raw):
    with pytest.raises(Refusal) as info:
        rules.normalize_mobile(raw)
    assert info.value.code == "invalid_mobile"


@pytest.mark.parametrize(
    ("mobile", "ported", "ok"),
    [
        ("13912345678", None, True),
        ("13401234567", None, True),  # 1340 is listed as a 4-digit segment
        ("13491234567", None, False),  # 1349 is not China Mobile
        ("13312345678", None, False),  # China Telecom
        ("13312345678", "in", True),  # ported in to China Mobile
        ("13912345678", "out", False),  # ported away
    ],
)
def test_scope(mobile, ported, ok):
    if ok:
        rules.check_scope(mobile, prefixes=PREFIXES, ported=ported)
    else:
        with pytest.raises(Refusal) as info:
            rules.check_scope(mobile, prefixes=PREFIXES, ported=ported)
        assert info.value.code == "out_of_scope"


def test_ported_out_number_is_refused_with_a_detail_saying_so():
    with pytest.raises(Refusal) as info:
        rules.prepare_message(mobile="13900000001", content="x", data=data())
    assert info.value.code == "out_of_scope"
    assert "携号转网" in info.value.detail


def test_ported_in_number_outside_the_segments_is_accepted():
    assert rules.prepare_message(mobile="13300000001", content="您好", data=data()).mobile == "13300000001"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"mobile": "139"}, "invalid_mobile"),
        ({"mobile": "13312345678", "content": "x"}, "out_of_scope"),
        ({"mobile": "13900000002", "content": "x"}, "opted_out"),
        ({"mobile": "13912345678", "template_code": "nope"}, "unknown_template"),
        ({"mobile": "13912345678", "template_code": "pending", "params": {"x": "1"}}, "unknown_template"),
        ({"mobile": "13912345678", "template_code": "disabled", "params": {"x": "1"}}, "unknown_template"),
        ({"mobile": "13912345678", "template_code": "violation", "params": {"plate": "苏C1"}}, "template_params"),
        ({"mobile": "13912345678", "template_code": "violation", "params": "x"}, "template_params"),
        ({"mobile": "13912345678", "content": "   "}, "empty_content"),
        ({"mobile": "13912345678", "content": None}, "empty_content"),
        ({"mobile": "13912345678", "content": SIG}, "empty_content"),
        ({"mobile": "13912345678", "content": "网上赌博"}, "forbidden_content"),
        ({"mobile": "13912345678", "content": "visit CASINO now"}, "forbidden_content"),
        ({"mobile": "13912345678", "content": "【别的单位】您好"}, "forbidden_content"),
        ({"mobile": "13912345678", "content": "您好\x00"}, "forbidden_content"),
        ({"mobile": "13912345678", "content": "详见 http://evil.example/x"}, "link_not_allowed"),
        ({"mobile": "13912345678", "content": "详见 www.evil.example"}, "link_not_allowed"),
        ({"mobile": "13912345678", "content": "字" * 134}, "too_long"),
    ],
)
def test_every_refusal_code(kwargs, code):
    assert refusal_code(**kwargs) == code


def test_free_content_needs_permission():
    assert refusal_code(mobile="13912345678", content="您好", data=data(allow_free_content=False)) == (
        "free_content_not_allowed"
    )


def test_template_params_detail_lists_names():
    with pytest.raises(Refusal) as info:
        rules.prepare_message(
            mobile="13912345678", template_code="violation", params={"plate": "", "extra": "1"}, data=data()
        )
    assert info.value.code == "template_params"
    assert "when" in info.value.detail and "extra" in info.value.detail and "plate" in info.value.detail


def test_template_renders_with_signature_units_and_segments():
    prepared = rules.prepare_message(
        mobile="+8613912345678",
        template_code="violation",
        params={"plate": "苏C12345", "when": 20260101},
        data=data(),
    )
    assert prepared.mobile == "13912345678"
    assert prepared.content == SIG + "您的车辆苏C12345于20260101违法，请及时处理。"
    assert prepared.units == 1 and prepared.segments == 1
    assert prepared.template_code == "violation"


@pytest.mark.parametrize(
    ("body_chars", "units", "segments"),
    [(63, 1, 1), (64, 2, 2), (127, 2, 2), (128, 2, 3), (134, 3, 3)],
)
def test_units_count_the_signature_and_segments_use_67_chars(body_chars, units, segments):
    # The signature 【12123】 is 7 characters: 63 + 7 = 70 is one unit and one SMS; 71 needs two of each.
    # Segments: 135 characters need 3 wire segments of 67 (the UDH) while billing counts 2 units of 70.
    d = data(limits=Limits(signature=SIG, max_units=3))
    prepared = rules.prepare_message(mobile="13912345678", content="字" * body_chars, data=d)
    assert (prepared.units, prepared.segments) == (units, segments)


def test_too_long_counts_the_signature():
    d = data(limits=Limits(signature=SIG, max_units=1))
    assert rules.prepare_message(mobile="13912345678", content="字" * 63, data=d).units == 1
    assert refusal_code(mobile="13912345678", content="字" * 64, data=d) == "too_long"


def test_own_signature_supplied_by_caller_is_not_doubled():
    prepared = rules.prepare_message(mobile="13912345678", content=SIG + "您好", data=data())
    assert prepared.content == SIG + "您好"


def test_allowed_link_passes_case_insensitively():
    prepared = rules.prepare_message(mobile="13912345678", content="详见 HTTPS://gab.122.gov.cn/a?b=1", data=data())
    assert prepared.units == 1
    assert rules.prepare_message(mobile="13912345678", template_code="plain", data=data()).text.startswith("请访问")


@pytest.mark.parametrize(
    ("text", "names"),
    [("{a}与{b}及{a}", ["a", "b"]), ("无参数", []), ("{{字面}}{x}", ["x"])],
)
def test_template_placeholders(text, names):
    assert rules.template_placeholders(text) == names


@pytest.mark.parametrize("text", ["{0}", "{a:>3}", "{a!r}", "{a", "{a.b}"])
def test_template_placeholders_refuse_non_named(text):
    with pytest.raises(ValueError):
        rules.template_placeholders(text)


# --- Disguised content: the checks read the shadow (sms_contract.textnorm), the text stays as sent ---------------


def words_data(**overrides):
    return data(forbidden_words=("开发票", "VPN", "赌博"), **overrides)


@pytest.mark.parametrize(
    "content",
    ["请开发 票", "请开发\n票", "请开\u200b发票", "请开\u00ad发票", "使用ＶＰＮ", "使用 v p n", "使用V\ufeffPN"],
)
def test_forbidden_words_are_found_through_spaces_zero_width_and_full_width(content):
    assert refusal_code(mobile="13912345678", content=content, data=words_data()) == "forbidden_content"


@pytest.mark.parametrize(
    "content",
    [
        "详见 ｗｗｗ．evil．com",
        "详见 https：//evil.com/x",
        "详见 ｈｔｔｐｓ：／／evil.com",
        "详见 www\u200b.evil.com",
        "详见 h t t p s : / / evil.com",
        "详见 https://gab.122.gov.cn/x and www.evil.com",
    ],
)
def test_disguised_links_are_checked_against_the_allowed_prefixes(content):
    assert refusal_code(mobile="13912345678", content=content) == "link_not_allowed"


@pytest.mark.parametrize("content", ["\u200b【别的单位】您好", "\ufeff【别的单位】您好", "︻别的单位︼您好"])
def test_foreign_signature_behind_invisible_characters_is_refused(content):
    assert refusal_code(mobile="13912345678", content=content) == "forbidden_content"


@pytest.mark.parametrize("ch", ["\u202e", "\u202d", "\u2066", "\u2069", "\x85", "\x9b"])
def test_bidi_overrides_and_c1_controls_are_refused_with_the_code_point(ch):
    with pytest.raises(Refusal) as info:
        rules.prepare_message(mobile="13912345678", content=f"您好{ch}olleh", data=data())
    assert info.value.code == "forbidden_content"
    assert f"U+{ord(ch):04X}" in info.value.detail


def test_allowed_link_and_legitimate_text_pass_and_keep_what_the_client_wrote():
    text = "请访问 ＨＴＴＰＳ://gab.122.gov.cn/x\u200b 查询，发票 请到窗口"
    prepared = rules.prepare_message(mobile="1３９12345678", content=text, data=words_data())
    assert prepared.text == text.strip()
    assert prepared.mobile == "13912345678"


def test_a_www_host_inside_an_allowed_link_is_not_a_second_link():
    ok = data(allowed_links=("https://www.gab.122.gov.cn/",))
    assert rules.prepare_message(mobile="13912345678", content="见 https://www.gab.122.gov.cn/a", data=ok).text


def test_forbidden_words_typed_full_width_in_the_list_still_match():
    assert refusal_code(mobile="13912345678", content="使用vpn", data=data(forbidden_words=("ＶＰＮ",))) == (
        "forbidden_content"
    )


def test_only_invisible_characters_are_empty_content():
    assert refusal_code(mobile="13912345678", content="\u200b \u00ad") == "empty_content"
