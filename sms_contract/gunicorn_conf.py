"""gunicorn settings of the web service: `gunicorn -c python:sms_contract.gunicorn_conf --bind 0.0.0.0:8000`.

Explicit timeouts (a request still running after GUNICORN_TIMEOUT seconds is killed and logged, instead of the
worker hanging) and an access log on stdout in which mobile numbers are masked (139****5678): request lines of
the API and the portal can carry them (8.1)."""

import os

from gunicorn.glogging import Logger

from sms_contract.masking import mask_mobiles_in_text

wsgi_app = "sms_contract.wsgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # the proxy waits 60 s, so gunicorn answers first
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then, staggered
max_requests_jitter = 500
# gunicorn's own HTTPS detection believes only the proxy too (addresses only; the app checks networks).
forwarded_allow_ips = (
    ",".join(p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip() and "/" not in p)
    or "127.0.0.1,::1"
)

accesslog = "-"
errorlog = "-"
# client (as the proxy saw it), the proxy, request, status, bytes, milliseconds, referer, user agent
access_log_format = '%({x-forwarded-for}i)s %(h)s [%(t)s] "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'


class MaskingLogger(Logger):
    """gunicorn's logger with every text field of the access log passed through the mobile-number mask."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: mask_mobiles_in_text(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = MaskingLogger
