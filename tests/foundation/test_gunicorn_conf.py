"""gunicorn runs with an explicit timeout and an access log that masks mobile numbers (8.1)."""

import datetime
import io
import logging
from types import SimpleNamespace

from gunicorn.config import Config

from sms_contract import gunicorn_conf


def _access_line(environ: dict) -> str:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", gunicorn_conf.access_log_format)
    logger = gunicorn_conf.MaskingLogger(cfg)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger.access_log.handlers = [handler]
    response = SimpleNamespace(status="200 OK", sent=123, headers=[])
    request = SimpleNamespace(headers=[("X-FORWARDED-FOR", "203.0.113.9"), ("USER-AGENT", "curl")])
    base = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "172.30.18.10"}
    logger.access(response, request, {**base, **environ}, datetime.timedelta(milliseconds=42))
    return out.getvalue()


def test_mobile_numbers_in_request_lines_are_masked_in_the_access_log():
    line = _access_line(
        {
            "RAW_URI": "/api/v1/optouts/13912345678/?mobile=8613812345678",
            "PATH_INFO": "/api/v1/optouts/13912345678/",
            "QUERY_STRING": "mobile=8613812345678",
            "HTTP_REFERER": "https://sms.example.org/admin/gateway/message/?q=15012345678",
        }
    )
    assert "13912345678" not in line and "13812345678" not in line and "15012345678" not in line
    assert "/api/v1/optouts/139****5678/?mobile=138****5678" in line
    assert line.startswith("203.0.113.9 172.30.18.10 ")
    assert '" 200 123 42ms "' in line


def test_timeouts_are_explicit():
    assert gunicorn_conf.timeout == 30
    assert gunicorn_conf.graceful_timeout == 30
    cfg = Config()
    for name in ("timeout", "graceful_timeout", "forwarded_allow_ips", "logger_class", "access_log_format"):
        cfg.set(name, getattr(gunicorn_conf, name))  # gunicorn accepts every value as configured


def test_full_width_number_percent_encoded_in_an_opt_out_path_is_masked_in_the_access_log():
    raw = "/api/v1/optouts/1%EF%BC%93%EF%BC%9912345678/"
    line = _access_line({"RAW_URI": raw, "PATH_INFO": "/api/v1/optouts/1３９12345678/", "QUERY_STRING": ""})
    assert "12345678" not in line.replace("****5678", "")
    assert "/api/v1/optouts/139****5678/" in line
