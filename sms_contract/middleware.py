"""Middleware for running behind the reverse proxy: health checks by IP, and forwarded headers only from the proxy."""

import ipaddress
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sms_contract.views import healthz

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz/"

# Headers a client could use to claim HTTPS, another host or another address; believed only from the proxy.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


class HealthCheckMiddleware:
    """Answer GET /healthz/ before the host check and the HTTPS redirect.

    Container health checks call http://127.0.0.1:8000/healthz/ by IP, which ALLOWED_HOSTS (the real host
    name) refuses with 400 and SECURE_SSL_REDIRECT would send to HTTPS. The answer names no host and sets no
    cookie, so serving it to any Host header leaks nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)


def parse_networks(values: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip()]
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


class TrustedProxyMiddleware:
    """Believe X-Forwarded-* only from TRUSTED_PROXIES; drop them from anyone else.

    From the proxy, the client's address (the last X-Forwarded-For entry: the one the proxy itself added)
    becomes REMOTE_ADDR, so login lock-outs (django-axes) and logs see the client, not the proxy."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.networks = parse_networks(settings.TRUSTED_PROXIES)

    def trusted(self, remote_addr: str) -> bool:
        address = _address(remote_addr)
        return address is not None and any(address in network for network in self.networks)

    def __call__(self, request):
        meta = request.META
        if self.trusted(meta.get("REMOTE_ADDR", "")):
            client = _address(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1])
            if client is not None:
                meta["REMOTE_ADDR"] = str(client)
        else:
            for header in FORWARDED_HEADERS:
                meta.pop(header, None)
        return self.get_response(request)
