"""`{% load portal %}`: the role-aware navigation and small display helpers for the portal pages."""

from django import template
from django.utils import timezone

from contracts.selectors import contract_lifecycle, contract_list_for_user
from portal.views.dashboard import nav_links

register = template.Library()


@register.inclusion_tag("portal/_nav.html", takes_context=True)
def portal_nav(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    links = nav_links(user) if user is not None and user.is_authenticated else []
    path = request.path if request else ""
    return {"links": links, "path": path, "user": user}


@register.filter
def percent(value) -> str:
    """``Decimal("98.50")`` → ``98.50%``; empty value → ``—``."""
    return "—" if value is None or value == "" else f"{value}%"


@register.filter
def units(value) -> str:
    """Whole counts grouped by thousands: ``1234567`` → ``1,234,567``."""
    if value is None or value == "":
        return "—"
    return f"{int(value):,}"


@register.inclusion_tag("portal/_admin_deadlines.html", takes_context=True)
def admin_deadlines(context):
    """The contracts' coming lifecycle deadlines, for the admin index page."""

    request = context.get("request")
    user = getattr(request, "user", None)
    rows = []
    if user is not None and user.is_authenticated:
        today = timezone.localdate()
        rows = [(c, contract_lifecycle(c, today=today)) for c in contract_list_for_user(user=user)[:10]]
    return {"rows": rows, "links": nav_links(user) if user is not None else []}
