"""Every role, with the demo year loaded (seed_demo), opens every page its menu offers in a real browser: the
portal's menu, and in the admin every list on the admin index with the first entry of each. A page fails on a
status other than 200, on server-error text, or on an English UI word from the kept list (issue 12)."""

import io
import re
import time

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROLES = ["police", "carrier", "finance", "auditor", "admin"]
DEMO_PASSWORD = "demo-12123"  # noqa: S105 - seed_demo's printed demo password

SERVER_ERRORS = (
    "Server Error",
    "Traceback",
    "服务器错误",
    "Internal Server Error",
    "Page not found",
    "OperationalError",
)
# English words of the user interface that must not appear as words on a page: Django's and the apps' own labels
# that were once left untranslated. Data (codes, file names, node names, usernames) is not UI and is not listed.
ENGLISH_UI_WORDS = [
    "Add", "Change", "Delete", "Save", "Search", "Filter", "History", "Home", "Log out", "Welcome", "View site",
    "Model name", "Add link", "Change or view list link", "Attempts", "Finished at", "Contract", "Client", "Node",
    "Notice type", "Result", "Period", "Day", "Accepted", "Delivered", "Refused", "Created at", "Submitted at",
    "Reported at", "Previous valid until", "Template", "Access attempts", "Access failures", "Access logs",
    "True", "False", "None", "Not found", "Unknown", "Yes", "No", "Actions", "Go", "Run", "Statement", "Invoice",
    "Payment", "Assessment", "Complaint", "Ticket", "Message", "Draft", "Issued", "Paid", "Late",
]  # fmt: skip
WORD = re.compile(r"(?<![A-Za-z_./-])(" + "|".join(re.escape(w) for w in ENGLISH_UI_WORDS) + r")(?![A-Za-z_])")


@pytest.fixture
def demo_year(transactional_db):
    call_command("seed_demo", "--admin", stdout=io.StringIO())


def _problems(page, url: str, response) -> list[str]:
    found = []
    if response is None or response.status != 200:
        found.append(f"{url}: HTTP {response.status if response else 'no answer'}")
    text = page.inner_text("body")
    found += [f"{url}: server error text {e!r}" for e in SERVER_ERRORS if e in text]
    found += [f"{url}: English UI word {m!r}" for m in sorted(set(WORD.findall(text)))]
    return found


def _menu(page) -> list[str]:
    return page.eval_on_selector_all("span.links a", "links => links.map(a => a.getAttribute('href'))")


def _admin_pages(page) -> list[str]:
    """The lists the admin index (the page open now) offers this user."""
    lists = page.eval_on_selector_all(
        "#content-main .app-list a, #content-main table a",
        "links => [...new Set(links.map(a => a.getAttribute('href')).filter(h => h && !h.endsWith('/add/')))]",
    )
    return [href for href in lists if href.startswith("/admin/") and href.count("/") >= 4]


def _walk(page, user, *, details: bool, seen: set[str]) -> tuple[list[str], list[str]]:
    """Open the menu's pages and the admin's lists (and first entries with `details`); admin pages another role
    already opened (in `seen`) are left out, which keeps the walk to about two minutes."""
    problems: list[str] = []
    visited: list[str] = []

    def visit(href: str) -> None:
        visited.append(href)  # offered to this role (opened, or opened already for an earlier role)
        if href.startswith("/admin/") and href in seen:
            return
        seen.add(href)
        response = page.goto(href, wait_until="domcontentloaded")
        problems.extend(_problems(page, href, response))

    for href in _menu(page):
        if href != "/admin/":
            visit(href)
    if user.is_staff:
        seen.discard("/admin/")  # every staff role's own admin index is checked
        visit("/admin/")
        for href in _admin_pages(page):
            visit(href)
            first = page.query_selector("#result_list tbody tr th a, #result_list tbody tr td a")
            if details and first is not None:
                visit(first.get_attribute("href"))
    return problems, visited


def test_every_menu_page_of_every_role_opens_in_chinese_without_errors(
    demo_year, chromium, live_server, django_user_model
):
    """One seeded demo year, one browser, a fresh session per role. The admin's entries are opened for the police
    (who see nearly every list) and the superuser (who sees the rest); finance and auditors open their lists."""
    problems: list[str] = []
    seen: set[str] = set()
    for username in ROLES:
        user = django_user_model.objects.get(username=username)
        context = chromium.new_context(
            base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 900}
        )
        # Style sheets, scripts and images are not what is checked here; leaving them out keeps the walk fast.
        context.route(re.compile(r".*/(static|media)/.*|.*favicon.*"), lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        started = time.monotonic()
        found, visited = _walk(page, user, details=username in ("police", "admin"), seen=seen)
        print(f"{username}: {len(visited)} pages in {time.monotonic() - started:.1f} s")
        assert len(visited) >= (2 if username == "carrier" else 5), (username, visited)
        problems += [f"{username} {p}" for p in found]
        context.close()
    assert not problems, "\n".join(problems)
