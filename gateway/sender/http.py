"""The sender process's own small HTTP endpoint: GET /metrics (Prometheus) and GET /healthz (JSON, 200 when
at least one node is up, 503 otherwise). Plain asyncio; nothing else is served."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger("gateway.sender")


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def make_handler(health: Callable[[], dict]):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) > 1 else ""
            if path == "/metrics":
                body = await asyncio.to_thread(generate_latest, REGISTRY)
                writer.write(_response("200 OK", CONTENT_TYPE_LATEST, body))
            elif path in ("/healthz", "/healthz/"):
                state = health()
                status = "200 OK" if state.get("ok") else "503 Service Unavailable"
                writer.write(_response(status, "application/json", json.dumps(state, ensure_ascii=False).encode()))
            else:
                writer.write(_response("404 Not Found", "text/plain", b"not found\n"))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


async def serve(health: Callable[[], dict], host: str, port: int) -> asyncio.Server:
    server = await asyncio.start_server(make_handler(health), host, port)
    log.info("sender metrics and health on http://%s:%s/metrics and /healthz", host, server.sockets[0].getsockname()[1])
    return server
