"""The front door's access log holds no mobile number (8.1): nginx (the real binary, with the compose template)
logs the request URI with opt-out paths blanked and mainland mobiles masked."""

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "default.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sms.example.org")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def nginx(tmp_path):
    """nginx serving the rendered template on loopback (its plain-HTTP server redirects; that is logged too)."""
    cert, key = _self_signed(tmp_path)
    http_port, https_port = _port(), _port()
    site = TEMPLATE.read_text()
    for name, value in {
        "SITE_HOST": "sms.example.org",
        "WEB_UPSTREAM": "127.0.0.1:9",
        "PROXY_HTTP_PORT": f"127.0.0.1:{http_port}",
        "PROXY_HTTPS_PORT": f"127.0.0.1:{https_port}",
        "TLS_CERT_FILE": str(cert),
        "TLS_KEY_FILE": str(key),
    }.items():
        site = site.replace("${" + name + "}", value)  # what the image's envsubst does, for these names only
    log = tmp_path / "access.log"
    (tmp_path / "site.conf").write_text(site.replace("/dev/stdout", str(log)))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path}; "
        f"fastcgi_temp_path {tmp_path}; uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path}; "
        f"include {tmp_path}/site.conf; }}\n"
    )
    args = [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", http_port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{http_port}", log
    finally:
        process.terminate()
        process.wait(timeout=10)


def _get(url: str) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(url, timeout=5)
    except urllib.error.HTTPError as answer:
        assert answer.code == 301


def test_access_log_masks_numbers_in_every_form(nginx):
    base, log = nginx
    paths = [
        "/api/v1/optouts/13912345678/",
        "/api/v1/optouts/1%EF%BC%93%EF%BC%9912345678/",  # 1３９12345678
        "/api/v1/optouts/%2B8613912345678/",
        "/admin/gateway/message/?q=008613812345678&o=15012345678",
        "/static/app.css?v=12345678901234567890",
    ]
    for path in paths:
        _get(base + path)
    for _ in range(50):
        if log.exists() and len(log.read_text().splitlines()) >= len(paths):
            break
        time.sleep(0.05)
    lines = log.read_text().splitlines()
    text = "\n".join(lines)
    assert len(lines) == len(paths), text
    for number in ("13912345678", "13812345678", "15012345678", "%EF%BC%93"):
        assert number not in text, text
    assert lines[0].split('"')[1] == "GET /api/v1/optouts/***/ HTTP/1.1"
    assert "/admin/gateway/message/?q=138****5678&o=150****5678" in lines[3]
    assert "/static/app.css?v=12345678901234567890" in lines[4]  # long digit runs that are no mobile stay
