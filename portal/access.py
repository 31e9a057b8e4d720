"""Who may open which page. Pages answer 403 (never a redirect) to a logged-in user of the wrong role."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from contracts.selectors import contract_list_for_user

POLICE = "police_staff"
CARRIER = "carrier_staff"
FINANCE = "finance"
AUDITOR = "auditor"


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_portal_roles", None)
    if cached is None:
        cached = user._portal_roles = set(user.groups.values_list("name", flat=True))
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user_roles(user) & set(roles)))


def is_carrier(user) -> bool:
    """Carrier staff (and nobody else) are limited to their own party's contracts and masked numbers."""
    return not user.is_superuser and CARRIER in user_roles(user)


def role_required(*roles: str) -> Callable:
    """Log in first; then 403 unless the user holds one of `roles` (superusers pass)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied("此页面不属于您的角色。")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def permission_or_403(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied(f"缺少权限 {perm}。")


def contract_for_user_or_404(user, pk: int):
    """A contract the user may see; others' contracts are 404, as if they did not exist."""
    return get_object_or_404(contract_list_for_user(user=user), pk=pk)
