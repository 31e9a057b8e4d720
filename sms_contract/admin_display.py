"""How the admin shows figures: money in yuan with separators, JSON as small tables, flags that say what they mean.

`readable_fields(model)` turns a model's fields into admin read-only entries: every `*_fen` field becomes its
amount in yuan (`12,648,000` fen → `126,480.00`) under the field's label with （元）, every JSON field a small
table; the rest stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from django.contrib import admin
from django.db import models
from django.utils.html import format_html, format_html_join

from sms_contract.money import format_fen_grouped

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a label, maybe translated lazily

EMPTY = "—"


def yuan_label(label: StrOrPromise) -> str:
    label = str(label)
    if "（分）" in label:
        return label.replace("（分）", "（元）")
    if label.endswith("（元）"):
        return label
    return f"{label}（元）"


def fen_field(name: str, label: StrOrPromise) -> Callable:
    """An admin column or read-only entry showing the fen field `name` in yuan with separators."""

    @admin.display(description=yuan_label(label), ordering=name)
    def show(obj):
        value = getattr(obj, name)
        return EMPTY if value is None else format_fen_grouped(value)

    show.__name__ = f"{name}_yuan"
    return show


def json_table(
    name: str, label: StrOrPromise, *, headers: tuple[str, str] = ("项目", "值"), key_label: Callable | None = None
) -> Callable:
    """A read-only entry showing the JSON field `name` as a two-column table (lists: one value per row)."""

    @admin.display(description=label)
    def show(obj):
        return small_table(getattr(obj, name), headers=headers, key_label=key_label)

    show.__name__ = f"{name}_table"
    return show


def _cell(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(_cell(v) for v in value)
    return EMPTY if value in (None, "") else str(value)


def small_table(data, *, headers: tuple[str, str] = ("项目", "值"), key_label: Callable | None = None) -> str:
    if not data:
        return EMPTY
    if isinstance(data, Mapping):
        rows = [((key_label or str)(key), _cell(value)) for key, value in data.items()]
    elif isinstance(data, list | tuple):
        rows = [(str(i), _cell(value)) for i, value in enumerate(data, start=1)]
    else:
        return _cell(data)
    return format_html(
        '<table class="json-table"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
        headers[0],
        headers[1],
        format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows),
    )


def flag(label: StrOrPromise, *, true_text: str, false_text: str, warn_when: bool = True, ordering: str | None = None):
    """A boolean column as words, the warning one in red (逾期 is not a green tick)."""

    def decorate(func):
        @admin.display(description=label, ordering=ordering)
        def show(self, obj):
            value = func(self, obj)
            text = true_text if value else false_text
            if bool(value) == warn_when:
                return format_html('<span class="flag-warn">{}</span>', text)
            return format_html('<span class="flag-ok">{}</span>', text)

        show.__name__ = func.__name__
        return show

    return decorate


def readable_fields(model, *, exclude: tuple[str, ...] = (), json_options: Mapping[str, dict] | None = None) -> list:
    """The model's fields as read-only admin entries: amounts in yuan, JSON as tables."""
    entries: list = []
    for field in model._meta.fields:
        if field.name in exclude:
            continue
        if field.name.endswith("_fen") and isinstance(field, models.IntegerField):
            entries.append(fen_field(field.name, field.verbose_name))
        elif isinstance(field, models.JSONField):
            entries.append(json_table(field.name, field.verbose_name, **(json_options or {}).get(field.name, {})))
        else:
            entries.append(field.name)
    return entries
