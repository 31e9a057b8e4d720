"""Roles as groups with permissions, defined in one table and applied after every migrate.

Each entry is an fnmatch pattern over "app_label.codename" for the project's apps
(and the audit history models, which live in the same apps). Apps add their own
custom permissions (for example `billing.approve_statement`) to this table.
"""

from fnmatch import fnmatch

from django.contrib.auth.models import Group, Permission

PROJECT_APPS = ("contracts", "billing", "assessment", "gateway")

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # 甲方 staff: run the contract day to day; may read but not write money records.
    "police_staff": [
        "contracts.*",
        "assessment.*",
        "gateway.*",
        "billing.view_*",
        "billing.approve_statement",
    ],
    # 乙方 staff: their own bills, tickets and complaints, through their portal.
    "carrier_staff": [
        "contracts.view_contract",
        "contracts.view_party",
        "billing.view_carrierbill",
        "billing.add_carrierbill",
        "billing.view_statement",
        "billing.view_reconciliation*",
        "assessment.view_assessment",
        "assessment.view_faultticket",
        "assessment.change_faultticket",
        "assessment.view_complaint",
        "assessment.change_complaint",
    ],
    # Finance: statements, invoices, payments, prepayment and bond.
    "finance": [
        "contracts.view_*",
        "billing.*",
        "assessment.view_*",
        "gateway.view_dailycount",
    ],
    # Auditors: read everything, including the change history; change nothing.
    "auditor": [
        "*.view_*",
    ],
}

# Permissions that a role must never get, whatever its patterns say.
ROLE_EXCLUDES: dict[str, list[str]] = {
    "carrier_staff": ["contracts.view_full_mobile"],
    "auditor": ["contracts.view_full_mobile"],
    # billing: police staff approve statements (they sign the assessment), finance issues them.
    "finance": ["contracts.view_full_mobile", "billing.approve_statement"],
}

STAFF_ROLES = ("police_staff", "finance", "auditor")  # may use the Django admin


def permissions_for_role(role: str, available: list[str]) -> list[str]:
    """The subset of `available` ("app.codename") that the role's patterns grant."""
    patterns = ROLE_PERMISSIONS[role]
    excludes = ROLE_EXCLUDES.get(role, [])
    return sorted(
        perm
        for perm in available
        if any(fnmatch(perm, p) for p in patterns) and not any(fnmatch(perm, x) for x in excludes)
    )


def sync_roles() -> None:
    """Create the groups and set their permissions exactly to the table (idempotent)."""

    perms = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(content_type__app_label__in=PROJECT_APPS)
    }
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([perms[name] for name in permissions_for_role(role, list(perms))])


def sync_roles_after_migrate(sender, app_config=None, **kwargs) -> None:
    """post_migrate fires once per app with models; the sync after the last project app sees every permission
    (syncing after each is idempotent and cheap)."""
    if app_config is not None and app_config.label in PROJECT_APPS:
        sync_roles()
