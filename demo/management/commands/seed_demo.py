"""Create one demo user per role (and the seed contract), a demo stretch of the contract (demo.seed), and print
the logins."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from contracts.roles import STAFF_ROLES, sync_roles
from contracts.services import contract_load_seed
from demo.seed import demo_year_seed
from gateway.services.seed import gateway_seed_defaults

DEMO_USERS = [
    # (username, role, full name)
    ("police", "police_staff", "交警支队 演示用户"),
    ("carrier", "carrier_staff", "移动徐州分公司 演示用户"),
    ("finance", "finance", "财务 演示用户"),
    ("auditor", "auditor", "审计 演示用户"),
]
DEMO_PASSWORD = "demo-12123"  # noqa: S105 - demo data, printed on purpose


class Command(BaseCommand):
    help = "Create the seed contract, demo users and a recent stretch of the contract; print the logins. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument("--admin", action="store_true", help="also create a superuser 'admin'")
        parser.add_argument(
            "--users-only", action="store_true", help="only the contract and the users, no demo year (demo.seed)"
        )

    def handle(self, *args, password: str, admin: bool, users_only: bool = False, **options):
        sync_roles()
        contract = contract_load_seed()
        gateway_seed_defaults(contract=contract)
        User = get_user_model()
        rows = []
        for username, role, full_name in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name = full_name
            user.email = user.email or f"{username}@demo.invalid"  # breach notices and reminders print to the console
            user.is_staff = role in STAFF_ROLES
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            if role == "carrier_staff":
                contract.supplier.members.add(user)
            elif role == "police_staff":
                contract.purchaser.members.add(user)
            rows.append((username, role))
        if admin:
            user, _ = User.objects.get_or_create(username="admin")
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            rows.append(("admin", "superuser"))
        if not users_only:
            users = {username: User.objects.get(username=username) for username, _, _ in DEMO_USERS}
            done = demo_year_seed(
                contract=contract, police=users["police"], finance=users["finance"], carrier=users["carrier"]
            )
            self.stdout.write(
                f"Demo data: {done.days_counted} new days of counts, {done.assessments} assessments, "
                f"{done.statements} statements, {done.bills} carrier bills added (nothing when already there)"
            )
        self.stdout.write(f"Demo logins (password for all: {password})")
        for username, role in rows:
            self.stdout.write(f"  {username:<10} {role}")
