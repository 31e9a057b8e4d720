"""Template filters for money and phone numbers. One formatter serves pages and PDFs."""

from django import template

from sms_contract.masking import display_mobile
from sms_contract.money import format_fen_grouped

register = template.Library()


@register.filter
def fen_to_yuan(fen) -> str:
    """``{{ statement.net_due_fen|fen_to_yuan }}`` -> ``1,234.56``."""
    if fen is None or fen == "":
        return ""
    return format_fen_grouped(int(fen))


@register.simple_tag(takes_context=True)
def mobile(context, number: str) -> str:
    """``{% mobile message.mobile %}``: full for users with the permission, masked otherwise."""
    request = context.get("request")
    return display_mobile(number, getattr(request, "user", None))
