"""A small client for the 12123 SMS API, standard library only, so the 12123 side can copy this one file.

    from gateway.apiclient import SmsApiClient
    api = SmsApiClient("https://sms.example.org", key="k_...", secret="...")
    api.send(mobile="13912345678", template_code="violation_notice", params={"plate": "苏C12345"},
             client_ref="12123-000001")

Every request is signed (docs/api.md, "Authentication"): the headers X-Api-Key, X-Timestamp (Unix seconds),
X-Nonce and X-Signature, the last being the lowercase hex HMAC-SHA256, keyed with the secret, of

    METHOD + "\\n" + PATH + "\\n" + TIMESTAMP + "\\n" + NONCE + "\\n" + hex(SHA256(BODY))

where PATH includes the query string and BODY is the raw request body (empty for GET and DELETE).

Command line:

    python -m gateway.apiclient --url http://127.0.0.1:8000 --key K --secret S \\
        send 13912345678 --template violation_notice --param plate=苏C12345 --ref r-1
    python -m gateway.apiclient ... get 42 | by-ref r-1 | optout-get 13912345678 | optout-put ... | optout-delete ...
    python -m gateway.apiclient ... send-batch notices.csv      # or notices.jsonl, or - for standard input

`make install` also installs it as the command `sms-api` (the same arguments), which needs no PYTHONPATH.

send-batch reads a CSV file (a header row: `mobile`, `template_code`, `content`, `client_ref`; every other
column is a template parameter, empty cells left out) or JSON lines (one object per line with the fields of
`POST /messages/`). The whole file is checked first: a bad row stops it before anything is sent, naming the
row and the column. It is then sent in batches of up to 1,000; each row gets one JSON result line on standard
output, progress goes to standard error. Rows with a `client_ref` can be sent again safely (answered as
duplicates).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import hmac
import http.client
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

API_PREFIX = "/api/v1"


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The X-Signature value for one request."""
    message = string_to_sign(method, path, timestamp, nonce, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(key: str, secret: str, method: str, path: str, body: bytes, *, now: float | None = None) -> dict:
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    return {
        "X-Api-Key": key,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": sign(secret, method, path, timestamp, nonce, body),
    }


CALLBACK_SKEW_SECONDS = 300


class CallbackError(Exception):
    """A callback that does not verify: `code` (bad_signature, wrong_key, signature_expired, missing_headers,
    nonce_reused, not_json) and `detail`. Answer such a request 401 and ignore it."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def verify_callback(
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: str,
    secret: str,
    path: str,
    now: float | None = None,
    max_skew: float = CALLBACK_SKEW_SECONDS,
) -> str:
    """Verify a status callback from the gateway, signed exactly like requests to it (method POST, the
    callback URL's `path` with its query string, X-Timestamp, X-Nonce, SHA-256 of the raw body, the client's
    secret). Returns the nonce (remember it for 2 × max_skew to refuse replays); raises CallbackError."""
    lower = {k.lower(): v for k, v in headers.items()}
    values = [lower.get(h.lower(), "") for h in ("X-Api-Key", "X-Timestamp", "X-Nonce", "X-Signature")]
    if not all(values):
        raise CallbackError("missing_headers", "X-Api-Key, X-Timestamp, X-Nonce and X-Signature are required.")
    got_key, timestamp, nonce, signature = values
    if not hmac.compare_digest(got_key, key):
        raise CallbackError("wrong_key", "X-Api-Key is not our key.")
    expected = sign(secret, "POST", path, timestamp, nonce, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise CallbackError("bad_signature", "X-Signature does not verify this body.")
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > max_skew:
        raise CallbackError("signature_expired", f"X-Timestamp is more than {max_skew:.0f} s from our clock.")
    try:
        events = json.loads(body)["events"]
        if not isinstance(events, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise CallbackError("not_json", 'The body is not {"events": [...]}.') from None
    return nonce


def serve_callbacks(api: SmsApiClient, host: str, port: int, on_events, *, path: str | None = None):
    """A tiny callback receiver (standard library): verifies each POST with `api.verify_callback`, hands the
    events to `on_events(events)` and answers 204; a request that does not verify gets 401 and is ignored, one
    whose handler raises gets 500 (the gateway retries it). Returns the server; call serve_forever() on it."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                with lock:  # the nonce memory is shared
                    events = api.verify_callback(dict(self.headers.items()), body, path=path or self.path)
                on_events(events)
            except CallbackError as exc:
                return self._answer(401, exc.code)
            except Exception:  # noqa: BLE001 - our handler failed: ask the gateway to retry
                return self._answer(500, "handler_failed")
            self._answer(204, "")

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:  # quiet; events go to on_events
            pass

    return ThreadingHTTPServer((host, port), Handler)


class ApiError(Exception):
    """The API refused the request: HTTP `status`, machine `code`, human `detail`, and the whole `body`."""

    def __init__(self, status: int, code: str, detail: str, body: Any = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body


class SmsApiClient:
    """Signs and sends requests; keeps one HTTP(S) connection open between calls (not thread-safe:
    use one client per thread)."""

    def __init__(
        self, base_url: str, key: str, secret: str, *, timeout: float = 30.0, callback_path: str | None = None
    ):
        parsed = urllib.parse.urlsplit(base_url.rstrip("/"))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url must be http(s)://host[:port][/prefix], not {base_url!r}")
        self._scheme = parsed.scheme
        self._netloc = parsed.netloc
        self._prefix = parsed.path
        self.key = key
        self._secret = secret
        self.timeout = timeout
        self.callback_path = callback_path  # the path (and query) of our callback URL, for verify_callback
        self._conn: http.client.HTTPConnection | None = None
        self._nonces: dict[str, float] = {}

    def __repr__(self) -> str:  # never show the secret
        return f"SmsApiClient({self._scheme}://{self._netloc}{self._prefix}, key={self.key!r})"

    # --- messages ----------------------------------------------------------------------------------------
    def send(
        self,
        *,
        mobile: str,
        template_code: str | None = None,
        params: Mapping[str, Any] | None = None,
        content: str | None = None,
        client_ref: str = "",
        priority: str | None = None,
        send_at: str | None = None,
    ) -> dict:
        """Queue one notice. Returns {"id", "status", "units", "client_ref"}; raises ApiError if refused.
        `priority`: urgent, normal or bulk (default: the template's); `send_at`: ISO 8601 with offset."""
        item = _message(mobile, template_code, params, content, client_ref)
        if priority:
            item["priority"] = priority
        if send_at:
            item["send_at"] = send_at
        return self.request("POST", "/messages/", item)

    def send_batch(self, messages: Iterable[Mapping[str, Any]]) -> dict:
        """Queue up to 1,000 notices: {"accepted": [{"index", "id", "units"}], "rejected": [{"index", ...}]}."""
        return self.request("POST", "/messages/batch/", {"messages": list(messages)})

    def get(self, message_id: int) -> dict:
        return self.request("GET", f"/messages/{int(message_id)}/")

    def by_client_ref(self, client_ref: str) -> dict:
        """The message this client sent with `client_ref`; ApiError 404 `not_found` if there is none."""
        page = self.request("GET", "/messages/?" + urllib.parse.urlencode({"client_ref": client_ref}))
        if not page["results"]:
            raise ApiError(404, "not_found", f"No message with client_ref {client_ref!r}.", page)
        return page["results"][0]

    # --- status events -----------------------------------------------------------------------------------
    def reports(self, after: str | None = None, limit: int | None = None) -> dict:
        """The pull feed: {"events": [...], "next": cursor}; pass `next` as `after` the next time."""
        query = {k: v for k, v in (("after", after), ("limit", limit)) if v is not None}
        return self.request("GET", "/reports/" + ("?" + urllib.parse.urlencode(query) if query else ""))

    def verify_callback(self, headers: Mapping[str, str], body: bytes, *, path: str | None = None) -> list[dict]:
        """Check a callback POSTed to us (signed with this key's secret over `path`, by default the
        `callback_path` given to the constructor) and return its events. Raises CallbackError if the key,
        signature or timestamp is wrong or the nonce was seen in the last 10 minutes."""
        path = path or self.callback_path
        if not path:
            raise ValueError("verify_callback needs the callback URL's path (callback_path= or path=)")
        now = time.time()
        nonce = verify_callback(headers, body, key=self.key, secret=self._secret, path=path, now=now)
        self._nonces = {n: t for n, t in self._nonces.items() if now - t < 2 * CALLBACK_SKEW_SECONDS}
        if nonce in self._nonces:
            raise CallbackError("nonce_reused", "This X-Nonce was already used.")
        self._nonces[nonce] = now
        return json.loads(body)["events"]

    # --- opt-outs ----------------------------------------------------------------------------------------
    def optout_get(self, mobile: str) -> dict:
        return self.request("GET", _optout_path(mobile))

    def optout_put(self, mobile: str) -> dict:
        return self.request("PUT", _optout_path(mobile), {})

    def optout_delete(self, mobile: str) -> dict:
        return self.request("DELETE", _optout_path(mobile))

    # --- transport ---------------------------------------------------------------------------------------
    def request(self, method: str, path: str, payload: Any = None) -> Any:
        """Sign and send; returns the decoded JSON answer, or raises ApiError for any 4xx/5xx."""
        full_path = f"{self._prefix}{API_PREFIX}{path}"
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()

        def headers() -> dict:
            signed = signed_headers(self.key, self._secret, method, full_path, body)
            signed["Accept"] = "application/json"
            if payload is not None:
                signed["Content-Type"] = "application/json"
            return signed

        status, raw = self._roundtrip(method, full_path, body, headers, repeatable=_repeatable(method, payload))
        try:
            data = json.loads(raw) if raw else None
        except ValueError:  # an HTML error page from a proxy or a crashed server: still our own error type
            raise ApiError(status, "not_json", raw[:200].decode(errors="replace")) from None
        if status >= 400:
            if isinstance(data, dict):
                raise ApiError(status, str(data.get("code", "error")), str(data.get("detail", "")), data)
            raise ApiError(status, "error", raw[:200].decode(errors="replace"), data)
        return data

    def _roundtrip(self, method: str, path: str, body: bytes, sign, *, repeatable: bool) -> tuple[int, bytes]:
        """One try, and a second on a fresh connection when the first was cut without an answer (a kept-alive
        connection the server had closed, or a server that died mid-request). The second try is signed anew
        when the request is safe to repeat; otherwise it keeps the first nonce, so that if the first try got
        through, the server refuses the copy (`nonce_reused`) instead of queuing a notice twice."""
        headers = sign()
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
                if repeatable:  # the cut try may have used up its nonce (checked before anything is stored)
                    headers = sign()
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._netloc, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _optout_path(mobile: str) -> str:
    return "/optouts/" + urllib.parse.quote(mobile.strip(), safe="+") + "/"


def _repeatable(method: str, payload: Any) -> bool:
    """Sending the request twice does no harm: a read, a PUT or DELETE, or notices that all carry a client_ref
    (the server answers a repeated client_ref with the first message and queues nothing)."""
    if method.upper() != "POST":
        return True
    items = payload.get("messages") if isinstance(payload, dict) and "messages" in payload else [payload]
    return isinstance(items, list) and bool(items) and all(isinstance(i, dict) and i.get("client_ref") for i in items)


def _message(
    mobile: str, template_code: str | None, params: Mapping[str, Any] | None, content: str | None, client_ref: str
) -> dict:
    item: dict[str, Any] = {"mobile": mobile}
    if template_code:
        item["template_code"] = template_code
        item["params"] = dict(params or {})
    if content is not None:
        item["content"] = content
    if client_ref:
        item["client_ref"] = client_ref
    return item


# --- send-batch ------------------------------------------------------------------------------------------
BATCH_LIMIT = 1000
CSV_FIELDS = ("mobile", "template_code", "content", "client_ref")


class BatchFileError(ValueError):
    """Rows of a batch file that cannot be sent: [(row, column, message)]."""

    def __init__(self, errors: list[tuple[int, str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"row {r}, column {c or '-'}: {m}" for r, c, m in errors[:10]))


def _csv_rows(stream: IO[str]) -> Iterator[tuple[int, dict | None, list[tuple[str, str]]]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if not header:
        yield 1, None, [("", "the file is empty (a header row is needed: mobile,template_code,...)")]
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    if "mobile" not in header:
        yield 1, None, [("mobile", "the header row has no mobile column")]
        return
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield number, None, [("", f"{len(values)} cells, the header has {len(header)}")]
            continue
        row = dict(zip(header, (v.strip() for v in values), strict=True))
        item: dict[str, Any] = {k: row[k] for k in CSV_FIELDS if row.get(k)}
        params = {k: v for k, v in row.items() if k not in CSV_FIELDS and v}
        if params:
            item["params"] = params
        yield number, item, []


def _jsonl_rows(stream: IO[str]) -> Iterator[tuple[int, dict | None, list[tuple[str, str]]]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, [("", f"not JSON: {exc.msg} at character {exc.colno}")]
            continue
        if not isinstance(item, dict):
            yield number, None, [("", "each line must be a JSON object")]
            continue
        yield number, item, []


def read_batch_file(stream: IO[str], fmt: str) -> list[tuple[int, dict]]:
    """(row number, message) for every row; raises BatchFileError naming each bad row and column."""
    rows, errors = [], []
    reader = _csv_rows if fmt == "csv" else _jsonl_rows
    for number, item, problems in reader(stream):
        if item is not None:
            if not str(item.get("mobile", "")).strip():
                problems.append(("mobile", "no mobile number"))
            if not item.get("template_code") and item.get("content") is None:
                problems.append(("template_code", "neither template_code nor content"))
            if "params" in item and not isinstance(item["params"], dict):
                problems.append(("params", "params must be an object"))
        errors += [(number, column, message) for column, message in problems]
        if not problems:
            rows.append((number, item))
    if errors:
        raise BatchFileError(errors)
    return rows


def send_batch_rows(api: SmsApiClient, rows: list[tuple[int, dict]], out: IO[str], progress: IO[str]) -> dict:
    """Send the rows in batches of up to 1,000; one JSON line per row on `out`, progress on `progress`.
    A batch the API refuses as a whole (authentication, server error) stops the run: its rows and the rest
    are reported `not_sent`."""
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0, "not_sent": 0}
    stopped: ApiError | None = None
    for start in range(0, len(rows), BATCH_LIMIT):
        chunk = rows[start : start + BATCH_LIMIT]
        if stopped is None:
            try:
                answer = api.send_batch([item for _, item in chunk])
            except ApiError as exc:
                stopped = exc
        if stopped is not None:
            for number, item in chunk:
                line = {"row": number, "client_ref": item.get("client_ref", ""), "result": "not_sent"}
                line.update(code=stopped.code, detail=stopped.detail)
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            totals["not_sent"] += len(chunk)
            continue
        by_index = {a["index"]: a for a in answer.get("accepted", [])}
        by_index.update({r["index"]: r for r in answer.get("rejected", [])})
        for index, (number, item) in enumerate(chunk):
            result = dict(by_index.get(index, {"code": "no_answer", "detail": "the API did not answer this item"}))
            result.pop("index", None)
            kind = "accepted" if "id" in result else "rejected"
            if kind == "accepted" and result.get("duplicate"):
                kind = "duplicate"
            totals[kind] += 1
            line = {"row": number, "client_ref": item.get("client_ref", ""), "result": kind, **result}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()
        done = min(start + BATCH_LIMIT, len(rows))
        progress.write(
            f"sent {done}/{len(rows)} rows: {totals['accepted']} accepted, {totals['duplicate']} duplicates, "
            f"{totals['rejected']} rejected\n"
        )
        progress.flush()
    if stopped is not None:
        progress.write(
            f"stopped: {stopped.status} {stopped.code} {stopped.detail}; {totals['not_sent']} rows not sent\n"
        )
    return totals


def _send_batch_command(api: SmsApiClient, path: str, fmt: str | None) -> int:
    if fmt is None:
        fmt = "csv" if path.lower().endswith(".csv") else "jsonl"
    try:
        if path == "-":
            rows = read_batch_file(sys.stdin, fmt)
        else:
            with open(path, encoding="utf-8-sig", newline="") as stream:
                rows = read_batch_file(stream, fmt)
    except OSError as exc:
        print(f"send-batch: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except BatchFileError as exc:
        for row, column, message in exc.errors:
            print(f"send-batch: {path} row {row}, column {column or '-'}: {message}", file=sys.stderr)
        print(f"send-batch: {len(exc.errors)} bad rows, nothing sent", file=sys.stderr)
        return 2
    totals = send_batch_rows(api, rows, sys.stdout, sys.stderr)
    return 0 if totals["rejected"] == 0 and totals["not_sent"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sms-api", description="12123 SMS API client (python -m gateway.apiclient)")
    parser.add_argument("--url", default=os.environ.get("SMS_API_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("SMS_API_KEY"), help="or SMS_API_KEY")
    parser.add_argument("--secret", default=os.environ.get("SMS_API_SECRET"), help="or SMS_API_SECRET")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send", help="queue one notice")
    send.add_argument("mobile")
    send.add_argument("--template")
    send.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    send.add_argument("--content")
    send.add_argument("--ref", default="", help="client_ref (idempotency key)")
    sub.add_parser("get", help="a message by id").add_argument("id", type=int)
    sub.add_parser("by-ref", help="a message by client_ref").add_argument("client_ref")
    for name in ("optout-get", "optout-put", "optout-delete"):
        sub.add_parser(name).add_argument("mobile")
    recv = sub.add_parser("receive-callbacks", help="an example callback receiver: print verified events as JSON lines")
    recv.add_argument("--listen", default="127.0.0.1:9000", metavar="HOST:PORT")
    recv.add_argument("--path", default=None, help="the path of your callback URL (default: the request's)")
    batch = sub.add_parser("send-batch", help="queue every row of a CSV or JSON-lines file (- for standard input)")
    batch.add_argument("file")
    batch.add_argument("--format", choices=["csv", "jsonl"], help="default: by the file name (.csv, else JSON lines)")
    args = parser.parse_args(argv)
    if not args.key or not args.secret:
        parser.error("--key and --secret (or SMS_API_KEY / SMS_API_SECRET) are required")
    api = SmsApiClient(args.url, args.key, args.secret)
    if args.command == "receive-callbacks":
        host, _, port = args.listen.rpartition(":")

        def show(events: list[dict]) -> None:
            for event in events:
                print(json.dumps(event, ensure_ascii=False), flush=True)

        server = serve_callbacks(api, host or "127.0.0.1", int(port), show, path=args.path)
        print(f"receiving callbacks on http://{args.listen}{args.path or '/'}", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        return 0
    if args.command == "send-batch":
        try:
            return _send_batch_command(api, args.file, args.format)
        finally:
            api.close()
    try:
        if args.command == "send":
            params = dict(p.split("=", 1) for p in args.param if "=" in p)
            result = api.send(
                mobile=args.mobile,
                template_code=args.template,
                params=params,
                content=args.content,
                client_ref=args.ref,
            )
        elif args.command == "get":
            result = api.get(args.id)
        elif args.command == "by-ref":
            result = api.by_client_ref(args.client_ref)
        else:
            result = getattr(api, args.command.replace("-", "_"))(args.mobile)
    except ApiError as exc:
        print(json.dumps(exc.body or {"code": exc.code, "detail": exc.detail}, ensure_ascii=False), file=sys.stderr)
        return 1
    finally:
        api.close()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
