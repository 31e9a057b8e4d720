import pytest

from contracts.roles import ROLE_PERMISSIONS, permissions_for_role

AVAILABLE = [
    "contracts.view_contract",
    "contracts.change_contract",
    "contracts.view_full_mobile",
    "billing.view_statement",
    "billing.change_statement",
    "billing.approve_statement",
    "billing.add_carrierbill",
    "billing.view_carrierbill",
    "assessment.change_assessment",
    "assessment.view_assessment",
    "gateway.view_message",
]


def test_auditor_may_only_read():
    perms = permissions_for_role("auditor", AVAILABLE)
    assert perms and all(".view_" in p for p in perms)
    assert "contracts.view_full_mobile" not in perms


def test_carrier_staff_never_see_full_numbers_and_cannot_change_statements():
    perms = permissions_for_role("carrier_staff", AVAILABLE)
    assert "contracts.view_full_mobile" not in perms
    assert "billing.change_statement" not in perms
    assert "billing.add_carrierbill" in perms


def test_police_staff_approve_but_finance_issues():
    police = permissions_for_role("police_staff", AVAILABLE)
    assert "billing.approve_statement" in police
    assert "billing.change_statement" not in police
    assert "billing.change_statement" in permissions_for_role("finance", AVAILABLE)


def test_every_role_is_a_group_after_migrate(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_PERMISSIONS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "url", "expected"),
    [
        ("police_staff", "/admin/contracts/contract/", 200),
        ("auditor", "/admin/contracts/contract/", 200),
        ("finance", "/admin/contracts/contract/", 200),
        ("auditor", "/admin/contracts/contract/add/", 403),
        ("finance", "/admin/contracts/contract/add/", 403),
        ("police_staff", "/admin/contracts/contract/add/", 200),
    ],
)
def test_admin_access_per_role(make_user, client_as, contract, role, url, expected):
    response = client_as(make_user(role)).get(url)
    assert response.status_code == expected


@pytest.mark.django_db
def test_carrier_staff_cannot_enter_the_admin(client_as, carrier_user):
    response = client_as(carrier_user).get("/admin/contracts/contract/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role(capsys):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("seed_demo", "--users-only")
    out = capsys.readouterr().out
    users = get_user_model().objects.all()
    assert {u.groups.get().name for u in users} == set(ROLE_PERMISSIONS)
    for name in ("police", "carrier", "finance", "auditor"):
        assert name in out
