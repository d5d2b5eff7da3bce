"""The compose TLS proxy's configuration (docker/nginx.conf.template), run by a real
nginx in front of a real gateway (``python -m bot`` in the gateway's environment):
TLS on a non-default port, plain HTTP redirected, forwarded addresses replaced so a
client cannot forge them, staff login through the proxy, oversized bodies refused."""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline import accounts
from hotline.accounts import AuditEntry
from knowledge.db import make_engine, make_session_factory
from stack.config import StackConfig

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docker" / "nginx.conf.template"
STAFF = ("dev", "proxy-test-password")


def _need(tool: str) -> str:
    exe = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None)
    if exe is None:
        message = f"{tool} is not installed (make system-deps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url_port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", url_port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(log.read_text()[-2000:])


@pytest.fixture
def proxied_gateway(tmp_path: Path):
    """(https base URL, http base URL, database URL) of nginx → python -m bot."""
    nginx, openssl = _need("nginx"), _need("openssl")
    gateway_python = StackConfig(model=tmp_path / "m", var_dir=tmp_path).gateway_python
    db_url = f"sqlite:///{tmp_path / 'assistant.db'}"
    accounts.ensure_schema(make_session_factory(make_engine(db_url)))
    gw_port, https_port, http_port = _free_port(), _free_port(), _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "STAFF_", "REDIS_"))},
           "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "APP_ENV": "development",
           "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(gw_port), "RASA_URLS": "http://127.0.0.1:9",
           "STAFF_USER": STAFF[0], "STAFF_PASSWORD": STAFF[1], "TRUSTED_PROXIES": "127.0.0.1"}
    log = tmp_path / "gateway.log"
    with open(log, "wb") as out:
        gateway = subprocess.Popen([gateway_python, "-m", "bot"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    # The template as compose's nginx image renders it, pointed at this test's ports and files.
    site = (TEMPLATE.read_text().replace("${PUBLIC_HOST}", "localhost")
            .replace("server gateway:8080;", f"server 127.0.0.1:{gw_port};")
            .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
            .replace("/etc/nginx/certs/", f"{tmp_path}/"))
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    (tmp_path / "site.conf").write_text(site)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/nginx-error.log;\n"
        f"events {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n"
        + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"  include {tmp_path}/site.conf;\n}}\n")
    checked = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    with open(tmp_path / "nginx.log", "wb") as out:
        proxy = subprocess.Popen([nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
                                  "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(gw_port, gateway, log)
        _wait(https_port, proxy, tmp_path / "nginx-error.log")
        yield f"https://localhost:{https_port}", f"http://localhost:{http_port}", db_url
    finally:
        for proc in (proxy, gateway):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_tls_proxy_in_front_of_the_gateway(proxied_gateway) -> None:
    https, http, db_url = proxied_gateway
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as client:
        for _ in range(50):   # the gateway's start-up finishes (database, staff account)
            async with client.get(f"{https}/health") as resp:
                if resp.status == 200:
                    break
            await asyncio.sleep(0.2)
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
        # Plain HTTP only redirects to HTTPS.
        async with client.get(f"{http}/staff/login", allow_redirects=False) as resp:
            assert resp.status == 308 and resp.headers["Location"].startswith("https://localhost")
        # Staff log in through the proxy on a non-default port: Host and Origin agree.
        browser = {"Origin": https, "Sec-Fetch-Site": "same-origin"}
        async with client.post(f"{https}/staff/login", data={"name": STAFF[0], "password": STAFF[1]},
                               headers=browser, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
        # A forged X-Forwarded-For is replaced by the proxy: the failure is recorded,
        # and throttled, under the real client address.
        async with client.post(f"{https}/staff/login", data={"name": STAFF[0], "password": "wrong-one"},
                               headers={**browser, "X-Forwarded-For": "203.0.113.77"},
                               allow_redirects=False) as resp:
            assert resp.status == 401
        # Bodies above the proxy's limit never reach the gateway.
        async with client.post(f"{https}/api/chat", data=b"x" * (4 * 1024 * 1024),
                               headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 413
    sessions = make_session_factory(make_engine(db_url))
    with sessions() as session:
        failed = session.execute(select(AuditEntry).where(AuditEntry.action == "login_failed")).scalars().all()
    assert [e.address for e in failed] == ["127.0.0.1"]
