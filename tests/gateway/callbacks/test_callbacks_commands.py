"""create_api_client --callback-url, edit_api_client and runcallbacks --once."""

import pytest
from django.core.management import CommandError, call_command

from gateway.models import ApiClient


def test_create_with_a_callback_url_then_edit_and_clear_it(contract, capsys):
    call_command("create_api_client", "platform", "--callback-url", "https://12123.example.org/sms/cb", "--json")
    client = ApiClient.objects.get(name="platform")
    assert (client.callback_url, client.callback_submitted) == ("https://12123.example.org/sms/cb", False)
    call_command(
        "edit_api_client", "platform", "--callback-url", "https://other.example.org/cb", "--callback-submitted"
    )
    client.refresh_from_db()
    assert (client.callback_url, client.callback_submitted) == ("https://other.example.org/cb", True)
    call_command("edit_api_client", "platform", "--callback-url", "")
    client.refresh_from_db()
    assert (client.callback_url, client.callback_submitted) == ("", True)


@pytest.mark.parametrize("url", ["ftp://example.org/cb", "example.org/cb", "https:///cb", "https://a.org/cb#x"])
def test_a_bad_callback_url_is_refused_and_creates_nothing(contract, url):
    with pytest.raises(CommandError, match="callback URL"):
        call_command("create_api_client", "platform", "--callback-url", url)
    assert not ApiClient.objects.exists()


def test_runcallbacks_once_reports_what_it_did(db, capsys):
    call_command("runcallbacks", "--once")
    assert capsys.readouterr().out.strip() == "sent 0, failed 0, dead 0"
