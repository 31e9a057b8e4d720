"""The bundled client's second try after a request was cut without an answer (a web worker killed mid-request,
bench/chaos.py web_kill). The server checks the nonce before it stores anything, so a cut try may have used up
its nonce without queuing a notice: a repeatable request (every notice with a client_ref) is signed anew and
goes through; one without client_refs keeps its nonce, so a copy of a try that got through is refused rather
than queued twice."""

import http.server
import json
import threading

import pytest

from gateway.apiclient import ApiError, SmsApiClient


class _CutFirstTry(http.server.BaseHTTPRequestHandler):
    """The first request is read (its nonce remembered, as the auth check does) and its connection closed
    without an answer; later ones are refused 401 nonce_reused for a seen nonce, else answered 202."""

    seen: list[str]

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        nonce = self.headers["X-Nonce"]
        first = not self.seen
        reused = nonce in self.seen
        self.seen.append(nonce)
        if first:
            self.close_connection = True  # the worker dies: no answer at all
            return
        status, answer = (401, {"code": "nonce_reused"}) if reused else (202, {"accepted": [], "rejected": []})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def cut_server():
    handler = type("Handler", (_CutFirstTry,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler.seen
    server.shutdown()
    server.server_close()


def test_a_cut_batch_with_client_refs_is_tried_again_with_a_fresh_nonce(cut_server):
    server, seen = cut_server
    api = SmsApiClient(f"http://127.0.0.1:{server.server_port}", "k", "s")
    answer = api.send_batch([{"mobile": "13912345678", "content": "x", "client_ref": "r-1"}])
    assert answer == {"accepted": [], "rejected": []}
    assert len(seen) == 2 and seen[0] != seen[1]


def test_a_cut_notice_without_client_ref_keeps_its_nonce_so_it_is_never_queued_twice(cut_server):
    server, seen = cut_server
    api = SmsApiClient(f"http://127.0.0.1:{server.server_port}", "k", "s")
    with pytest.raises(ApiError) as info:
        api.send(mobile="13912345678", content="x")
    assert info.value.code == "nonce_reused"
    assert len(seen) == 2 and seen[0] == seen[1]
