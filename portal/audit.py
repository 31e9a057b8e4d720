"""The audit log: recent changes across every audited model (django-simple-history), with before → after."""

from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.apps import apps
from django.utils import timezone

from sms_contract.masking import can_see_full_mobile, mask_mobiles_in_text

AUDITED_APPS = ("contracts", "billing", "assessment", "gateway")


@dataclass(frozen=True)
class Change:
    when: datetime
    who: str
    action: str  # 新增 / 修改 / 删除
    model: str  # verbose name
    model_key: str  # app_label.model
    object_id: object
    object_repr: str
    reason: str
    fields: list[tuple[str, str, str]]  # (field label, before, after)


ACTIONS = {"+": "新增", "~": "修改", "-": "删除"}


def audited_models() -> list:
    """Models of the project apps that keep a history, in a stable order."""
    found = []
    for label in AUDITED_APPS:
        for model in apps.get_app_config(label).get_models():
            if hasattr(model, "history") and hasattr(model._meta, "simple_history_manager_attribute"):
                found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


def _text(value, *, masked: bool, field=None) -> str:
    """A value as people read it: choice labels, local times, 是/否; phone numbers masked when asked."""
    if value is None or value == "":
        return "—"
    if field is not None and field.choices:
        value = dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, datetime):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else str(value)
    else:
        text = str(value)
    return mask_mobiles_in_text(text) if masked else text


def _field(model, name: str):
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a field that no longer exists
        return None


def _field_label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - a field that no longer exists keeps its name
        return name


def _change(record, model, *, masked: bool) -> Change:
    fields: list[tuple[str, str, str]] = []
    if record.history_type == "~":
        previous = record.prev_record
        if previous is not None:
            delta = record.diff_against(previous)
            fields = [
                (
                    _field_label(model, c.field),
                    _text(c.old, masked=masked, field=_field(model, c.field)),
                    _text(c.new, masked=masked, field=_field(model, c.field)),
                )
                for c in delta.changes
            ]
    elif record.history_type == "+":
        fields = [
            (_field_label(model, f.name), "—", _text(getattr(record, f.attname, None), masked=masked, field=f))
            for f in model._meta.concrete_fields
            if f.name not in ("id",) and getattr(record, f.attname, None) not in (None, "", [], {})
        ]
    user = record.history_user
    return Change(
        when=record.history_date,
        who=user.get_username() if user else "（系统）",
        action=ACTIONS.get(record.history_type, record.history_type),
        model=str(model._meta.verbose_name),
        model_key=model._meta.label_lower,
        object_id=record.id,
        object_repr=_text(str(record.instance), masked=masked) if record.history_type != "-" else f"#{record.id}",
        reason=record.history_change_reason or "",
        fields=fields,
    )


def audit_changes(*, user, model_key: str = "", limit: int = 100) -> list[Change]:
    """The most recent ``limit`` changes (all audited models, or one), newest first; numbers masked for users
    without the permission to see them."""
    masked = not can_see_full_mobile(user)
    models = [m for m in audited_models() if not model_key or m._meta.label_lower == model_key]
    records = []
    for model in models:
        for record in model.history.select_related("history_user").order_by("-history_date")[:limit]:
            records.append((record.history_date, model, record))
    records.sort(key=lambda r: r[0], reverse=True)
    return [_change(record, model, masked=masked) for _, model, record in islice(records, limit)]
