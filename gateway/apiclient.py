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
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import secrets
import sys
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

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

    def __init__(self, base_url: str, key: str, secret: str, *, timeout: float = 30.0):
        parsed = urllib.parse.urlsplit(base_url.rstrip("/"))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url must be http(s)://host[:port][/prefix], not {base_url!r}")
        self._scheme = parsed.scheme
        self._netloc = parsed.netloc
        self._prefix = parsed.path
        self.key = key
        self._secret = secret
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

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
    ) -> dict:
        """Queue one notice. Returns {"id", "status", "units", "client_ref"}; raises ApiError if refused."""
        return self.request("POST", "/messages/", _message(mobile, template_code, params, content, client_ref))

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
        headers = signed_headers(self.key, self._secret, method, full_path, body)
        headers["Accept"] = "application/json"
        if payload is not None:
            headers["Content-Type"] = "application/json"
        status, raw = self._roundtrip(method, full_path, body, headers)
        try:
            data = json.loads(raw) if raw else None
        except ValueError:  # an HTML error page from a proxy or a crashed server: still our own error type
            raise ApiError(status, "not_json", raw[:200].decode(errors="replace")) from None
        if status >= 400:
            if isinstance(data, dict):
                raise ApiError(status, str(data.get("code", "error")), str(data.get("detail", "")), data)
            raise ApiError(status, "error", raw[:200].decode(errors="replace"), data)
        return data

    def _roundtrip(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()  # a kept-alive connection the server closed: retry once on a fresh one
                if attempt == 2:
                    raise
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.apiclient", description="12123 SMS API client")
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
    args = parser.parse_args(argv)
    if not args.key or not args.secret:
        parser.error("--key and --secret (or SMS_API_KEY / SMS_API_SECRET) are required")
    api = SmsApiClient(args.url, args.key, args.secret)
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
