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

from contracts.rules import billing_units
from gateway.cmpp.errors import TextEncodeError
from gateway.cmpp.segmentation import split_message
from sms_contract import textnorm

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

# A link: anything with a scheme, or starting with "www.". Bare domains ("example.com/x") are not detected.
# Links are looked for in the content shadow (sms_contract.textnorm): full-width letters and punctuation are
# ASCII there and zero-width characters gone, so `ｗｗｗ．evil．com` and `https：//…` are links too.
_LINK = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.)[^\s，。；！？、）)】\"'<>]+")  # on casefolded text
# In the compact shadow (no whitespace at all) a link split by spaces or newlines (`h t t p s : / /`) shows
# again; only the common schemes are looked for there, a "www." right after "://" belongs to that link.
_SPLIT_LINK_START = re.compile(r"(?:https?|ftp)://|(?<!://)www\.")
_LINK_END = re.compile(r"[\s，。；！？、）)】\"'<>]")
# Control characters (C0 but tab/LF/CR, DEL, C1 with U+0085) and bidi overrides/isolates: refused.
CONTROL_CHARS = textnorm.DISGUISING_CHARS


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


def normalize_mobile(raw: object) -> str:
    """A Chinese mobile number as 11 ASCII digits (`sms_contract.textnorm.mobile_normalize`): full-width or
    other Unicode digits, +86 / 86 / 0086 prefixes, spaces, dashes and zero-width characters are accepted."""
    try:
        return textnorm.mobile_normalize(raw)
    except textnorm.InvalidMobile as exc:
        raise Refusal(INVALID_MOBILE, exc.detail) from None


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
    【…】 is refused: it would make the message look like it came from someone else. The test reads the
    content shadow, so a 【…】 behind a zero-width space, a BOM or in full-width/vertical brackets counts too.
    """
    stripped = text.strip()
    if signature and stripped.startswith(signature):
        stripped = stripped[len(signature) :].strip()
    if textnorm.content_shadow(stripped).compact.startswith("【"):
        raise Refusal(FORBIDDEN_CONTENT, "内容不得自带签名【…】，签名由系统统一添加（3.1.9）。")
    return stripped


@lru_cache(maxsize=16)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    # One alternation over the words' shadows, longest first: a single C-level scan per message.
    unique = sorted({w for w in map(textnorm.shadow_word, words) if w}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, unique))) if unique else None


def check_forbidden_words(text: str, words: Iterable[str]) -> None:
    """No forbidden word (3.1.3) in the compact shadow of the text: NFKC, casefolded, without format characters
    or whitespace, so `请开发 票`, `使用ＶＰＮ` and a soft hyphen or newline inside a word are found."""
    pattern = _words_pattern(tuple(words))
    found = set(pattern.findall(textnorm.content_shadow(text).compact)) if pattern else set()
    if found:
        raise Refusal(FORBIDDEN_CONTENT, "内容含有禁用词：" + "、".join(sorted(found)) + "（3.1.3）。")


def links_in(text: str) -> list[str]:
    """The links of a text as its shadow holds them: those of the folded shadow, then those only the compact
    shadow shows (a link split by whitespace)."""
    shadow = textnorm.content_shadow(text)
    if "://" not in shadow.compact and "www." not in shadow.compact:
        return []
    found = _LINK.findall(shadow.folded)
    for start in _SPLIT_LINK_START.finditer(shadow.compact):
        end = _LINK_END.search(shadow.compact, start.end())
        link = shadow.compact[start.start() : end.start() if end else len(shadow.compact)]
        if link not in found:
            found.append(link)
    return found


@lru_cache(maxsize=16)
def _allowed_shadows(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(textnorm.content_shadow(p).compact for p in prefixes if p)


def check_links(text: str, allowed_prefixes: Iterable[str]) -> None:
    """Every link must start with one of the purchaser's allowed prefixes (3.1.16); case-insensitive."""
    links = links_in(text)
    if not links:
        return
    allowed = _allowed_shadows(tuple(allowed_prefixes))
    bad = [link for link in links if not link.startswith(allowed)]
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
    """The text to send (as the client wrote it, trimmed, without our own signature) once every content rule
    passed. The rules read the text's shadow (sms_contract.textnorm); control and bidi characters are refused."""
    if not isinstance(text, str) or not textnorm.content_shadow(text).compact:
        raise Refusal(EMPTY_CONTENT, "内容为空。")
    if CONTROL_CHARS.search(text):
        chars = "、".join(textnorm.disguising_chars(text)[:5])
        raise Refusal(FORBIDDEN_CONTENT, f"内容含有控制字符或双向文字控制符（{chars}）。")
    body = strip_own_signature(text, limits.signature)
    if not textnorm.content_shadow(body).compact:
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
    text: object
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
