"""Content and recipient rules for notices taken in through the API (3.1.3, 3.1.5, 3.1.9, 3.1.15, 3.1.16,
3.2.3, 4.3). Pure functions: no ORM, no settings, no clock. The caller loads the data (scope segments, ported
numbers, opt-outs, templates, forbidden words, allowed links, limits) and passes it in.

Every refusal is a `Refusal` with a stable machine `code` and a human `detail`; `prepare_message` runs all
checks in a fixed order and returns the text to queue, its billing units and its wire segment count.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from billing.rules import billing_units
from gateway.cmpp.errors import TextEncodeError
from gateway.cmpp.segmentation import split_message

# Refusal codes (docs/api.md lists them with their HTTP status).
INVALID_MOBILE = "invalid_mobile"
OUT_OF_SCOPE = "out_of_scope"
OPTED_OUT = "opted_out"
UNKNOWN_TEMPLATE = "unknown_template"
TEMPLATE_PARAMS = "template_params"
FORBIDDEN_CONTENT = "forbidden_content"
LINK_NOT_ALLOWED = "link_not_allowed"
TOO_LONG = "too_long"
EMPTY_CONTENT = "empty_content"
FREE_CONTENT_NOT_ALLOWED = "free_content_not_allowed"

PORTED_IN = "in"
PORTED_OUT = "out"

_DIGITS_ONLY = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[\s\-()]")
# A link: anything with a scheme, or starting with "www.". Bare domains ("example.com/x") are not detected.
_LINK = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.)[^\s，。；！？、）)】\"'<>]+", re.IGNORECASE)
_LEADING_SIGNATURE = re.compile(r"^\s*【[^】]*】")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Refusal(Exception):  # noqa: N818 - a business outcome, not a crash
    """A message was refused. `code` is stable; `detail` explains it to a person."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class TemplateInfo:
    code: str
    text: str
    notice_type_code: str | None
    registered: bool
    enabled: bool


@dataclass(frozen=True)
class Prepared:
    """A message that passed every rule: `content` is what the handset shows (signature + text)."""

    mobile: str
    text: str
    content: str
    units: int
    segments: int
    template_code: str | None


@dataclass(frozen=True)
class Limits:
    signature: str
    max_units: int = 10
    unit_chars: int = 70


# --- Recipients ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _cn_mobile_prefix_valid(prefix7: str) -> bool:
    # phonenumbers' CN mobile patterns decide on at most the first five digits (the rest is \d{6,8}), so the
    # answer for a 7-digit prefix holds for all 10,000 numbers under it; caching keeps batches fast.
    number = phonenumbers.parse(prefix7 + "0000", "CN")
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def normalize_mobile(raw: object) -> str:
    """A Chinese mobile number as 11 digits. Accepts +86 / 86 / 0086 prefixes, spaces and dashes."""
    if not isinstance(raw, str):
        raise Refusal(INVALID_MOBILE, "手机号码必须是字符串。")
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+"):
        digits = digits[1:]
    if not _DIGITS_ONLY.fullmatch(digits or "x"):
        raise Refusal(INVALID_MOBILE, f"手机号码只能包含数字：{raw[:20]!r}。")
    if len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) != 11 or not digits.startswith("1") or not _cn_mobile_prefix_valid(digits[:7]):
        raise Refusal(INVALID_MOBILE, "不是有效的中国大陆手机号码（11 位）。")
    return digits


def check_scope(mobile: str, *, prefixes: Collection[str], ported: str | None) -> None:
    """Inside the user scope (3.1.5): a China Mobile segment and not ported out, or ported in (3.2.3).

    `prefixes` are the scope segments (3 to 7 digits); `ported` is "in", "out" or None for this number.
    """
    if ported == PORTED_IN:
        return
    if ported == PORTED_OUT:
        raise Refusal(OUT_OF_SCOPE, "该号码已携号转网转出中国移动，不在服务范围内（3.2.3）。")
    if not any(mobile[:n] in prefixes for n in range(3, 8)):
        raise Refusal(OUT_OF_SCOPE, "该号码不属于中国移动号段，不在服务范围内（3.1.5）。")


def check_not_opted_out(mobile: str, *, opted_out: Collection[str]) -> None:
    if mobile in opted_out:
        raise Refusal(OPTED_OUT, "该用户已退订 12123 短信通知（4.3）。")


# --- Content ------------------------------------------------------------------------------------------------


def template_placeholders(text: str) -> list[str]:
    """Named placeholders of a template, in order of first appearance. Positional or formatted ones refused."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"模板格式错误：{exc}") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"模板占位符必须是 {{名称}} 形式：{{{name}}}")
        if name not in names:
            names.append(name)
    return names


def render_template(template: TemplateInfo | None, params: object, *, code: str) -> str:
    """The template's text with its placeholders filled. Every placeholder needs one non-empty value."""
    if template is None:
        raise Refusal(UNKNOWN_TEMPLATE, f"模板 {code!r} 不存在。")
    if not template.enabled:
        raise Refusal(UNKNOWN_TEMPLATE, f"模板 {code!r} 已停用。")
    if not template.registered:
        raise Refusal(UNKNOWN_TEMPLATE, f"模板 {code!r} 尚未在运营商报备，不能发送（3.1.15）。")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise Refusal(TEMPLATE_PARAMS, "params 必须是对象（名称到取值）。")
    names = template_placeholders(template.text)
    missing = [n for n in names if n not in params]
    extra = sorted(str(k) for k in params if k not in names)
    empty = [n for n in names if n in params and _param_text(params[n]) == ""]
    problems = []
    if missing:
        problems.append("缺少参数：" + ", ".join(missing))
    if extra:
        problems.append("多余参数：" + ", ".join(extra))
    if empty:
        problems.append("参数为空或类型不对：" + ", ".join(empty))
    if problems:
        raise Refusal(TEMPLATE_PARAMS, "；".join(problems) + "。")
    return template.text.format_map({n: _param_text(params[n]) for n in names})


def _param_text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def strip_own_signature(text: str, signature: str) -> str:
    """Callers never send the signature; the system adds it (3.1.9).

    A copy of our own signature at the start is dropped (a harmless habit of callers). Any other leading
    【…】 is refused: it would make the message look like it came from someone else.
    """
    stripped = text.strip()
    if signature and stripped.startswith(signature):
        return stripped[len(signature) :].strip()
    if _LEADING_SIGNATURE.match(stripped):
        raise Refusal(FORBIDDEN_CONTENT, "内容不得自带签名【…】，签名由系统统一添加（3.1.9）。")
    return stripped


@lru_cache(maxsize=16)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    # One alternation, longest first, case-insensitive: a single C-level scan per message.
    unique = sorted({w for w in words if w}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, unique)), re.IGNORECASE) if unique else None


def check_forbidden_words(text: str, words: Iterable[str]) -> None:
    pattern = _words_pattern(tuple(words))
    found = set(pattern.findall(text)) if pattern else set()
    if found:
        raise Refusal(FORBIDDEN_CONTENT, "内容含有禁用词：" + "、".join(sorted(found)) + "（3.1.3）。")


def links_in(text: str) -> list[str]:
    return _LINK.findall(text)


def check_links(text: str, allowed_prefixes: Iterable[str]) -> None:
    """Every link must start with one of the purchaser's allowed prefixes (3.1.16); case-insensitive."""
    allowed = [p.casefold() for p in allowed_prefixes if p]
    bad = [link for link in links_in(text) if not any(link.casefold().startswith(p) for p in allowed)]
    if bad:
        raise Refusal(LINK_NOT_ALLOWED, "链接不在允许范围内：" + "、".join(bad[:5]) + "（3.1.16）。")


def wire_segments(content: str) -> int:
    """CMPP segments (70 UCS2 code units alone, 67 behind a UDH) of the full content."""
    try:
        return len(split_message(content, reference=0))
    except TextEncodeError as exc:
        raise Refusal(TOO_LONG, str(exc)) from exc


def check_length(content: str, limits: Limits) -> int:
    """Billing units of the full content (signature included, the contract's rule); refused above the limit."""
    units = billing_units(content, limits.unit_chars)
    if units > limits.max_units:
        raise Refusal(
            TOO_LONG,
            f"内容（含签名）{len(content)} 字，计 {units} 条，超过上限 {limits.max_units} 条"
            f"（每 {limits.unit_chars} 字一条）。",
        )
    return units


def prepare_text(text: object, limits: Limits, *, forbidden_words: Iterable[str], allowed_links: Iterable[str]) -> str:
    if not isinstance(text, str) or not text.strip():
        raise Refusal(EMPTY_CONTENT, "内容为空。")
    if CONTROL_CHARS.search(text):
        raise Refusal(FORBIDDEN_CONTENT, "内容含有控制字符。")
    body = strip_own_signature(text, limits.signature)
    if not body:
        raise Refusal(EMPTY_CONTENT, "除签名外内容为空。")
    check_forbidden_words(body, forbidden_words)
    check_links(body, allowed_links)
    return body


@dataclass(frozen=True)
class RuleData:
    """What `prepare_message` needs to know, loaded once per request (or batch)."""

    limits: Limits
    scope_prefixes: frozenset[str]
    ported: Mapping[str, str]
    opted_out: Collection[str]
    templates: Mapping[str, TemplateInfo]
    forbidden_words: tuple[str, ...]
    allowed_links: tuple[str, ...]
    allow_free_content: bool


def prepare_message(
    *,
    mobile: object,
    data: RuleData,
    template_code: str | None = None,
    params: object = None,
    content: object = None,
) -> Prepared:
    """Run every rule, in this order: recipient (invalid_mobile, out_of_scope, opted_out), then content
    (free_content_not_allowed / unknown_template, template_params, empty_content, forbidden_content,
    link_not_allowed, too_long). The first failure is raised as a `Refusal`."""
    number = normalize_mobile(mobile)
    check_scope(number, prefixes=data.scope_prefixes, ported=data.ported.get(number))
    check_not_opted_out(number, opted_out=data.opted_out)
    if template_code:
        text = render_template(data.templates.get(template_code), params, code=template_code)
    else:
        if not data.allow_free_content:
            raise Refusal(FREE_CONTENT_NOT_ALLOWED, "该客户端只能用已报备的模板发送（template_code）。")
        text = content
    body = prepare_text(text, data.limits, forbidden_words=data.forbidden_words, allowed_links=data.allowed_links)
    full = data.limits.signature + body
    units = check_length(full, data.limits)
    return Prepared(
        mobile=number,
        text=body,
        content=full,
        units=units,
        segments=wire_segments(full),
        template_code=template_code or None,
    )
