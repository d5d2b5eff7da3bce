"""docker-compose.yml and docker/: valid, self-contained, scalable, no secrets.

No Docker engine is needed: `docker-compose config` validates the file, the
rest reads the YAML and the Dockerfiles.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|AES_KEY|API_KEY", re.I)
# A value that is only an interpolation, optionally with a default or an error.
INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        message = "docker-compose is not installed (apt-get install docker-compose)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


def _env_items(service: dict) -> list[tuple[str, str]]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return [tuple(item.split("=", 1)) if "=" in item else (item, "") for item in env]
    return [(k, "" if v is None else str(v)) for k, v in env.items()]


def test_compose_config_is_valid_with_the_example_env() -> None:
    exe = _docker_compose()
    result = subprocess.run(
        [exe, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    """An empty .env must fail with a message naming the missing secret."""
    exe = _docker_compose()
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not SECRET_NAME.search(k)}
    result = subprocess.run(
        [exe, "--env-file", str(empty), "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode != 0
    assert "in .env" in result.stderr


def test_every_build_context_and_dockerfile_exists(compose: dict) -> None:
    built = 0
    for name, service in compose["services"].items():
        build = service.get("build")
        if not build:
            assert "image" in service, f"{name} has neither build nor image"
            continue
        built += 1
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        assert context.is_dir(), f"{name}: build context {context} missing"
        dockerfile = context / (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        _check_dockerfile(dockerfile, context)
    assert built >= 3  # rasa, actions, gateway


def _check_dockerfile(dockerfile: Path, context: Path) -> None:
    """Base images pinned, USER 1001, and every COPY source present in the repo."""
    text = dockerfile.read_text(encoding="utf-8")
    bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert bases, dockerfile
    for base in bases:
        assert base in ("rasa/rasa:3.6.21-full", "rasa/rasa-sdk:3.6.2", "python:3.10.19-slim-bookworm"), \
            (dockerfile, base)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] == "1001", f"{dockerfile} must end as USER 1001"
    for line in re.findall(r"^COPY\s+(.+)$", text, re.M):
        parts = [p for p in line.split() if not p.startswith("--")]
        for source in parts[:-1]:
            assert (context / source).exists(), f"{dockerfile}: COPY source {source} missing"
    for script in re.findall(r'^ENTRYPOINT\s+\["(/app/[^"]+)"', text, re.M):
        local = context / script.removeprefix("/app/")
        assert local.is_file() and os.access(local, os.X_OK), f"{local} missing or not executable"


def test_files_named_in_the_images_exist() -> None:
    """Files the Rasa entrypoint reads are copied from the repository."""
    for name in ("endpoints.production.yml", "credentials.yml", "config.yml", "domain.yml"):
        assert (ROOT / name).is_file(), name
    entry = (ROOT / "docker" / "rasa-entrypoint.sh").read_text()
    assert "--auth-token" in entry and "endpoints.production.yml" in entry


def test_only_the_tls_proxy_publishes_ports(compose: dict) -> None:
    services = compose["services"]
    publishing = {n for n, s in services.items() if s.get("ports")}
    assert publishing == {"proxy"}
    assert all("network_mode" not in s for s in services.values())
    proxy = services["proxy"]
    assert re.fullmatch(r"(nginx|caddy):[0-9][\w.-]*", proxy["image"]), proxy["image"]
    assert any(p.endswith(":443") for p in proxy["ports"])
    mounts = " ".join(proxy["volumes"])
    assert "${TLS_CERT_FILE:?" in mounts and "${TLS_KEY_FILE:?" in mounts
    assert proxy["depends_on"]["gateway"]["condition"] == "service_healthy"


def test_gateway_trusts_forwarded_addresses_only_from_the_proxy(compose: dict) -> None:
    services = compose["services"]
    gateway = dict(_env_items(services["gateway"]))
    proxy_address = services["proxy"]["networks"]["edge"]["ipv4_address"]
    assert gateway["TRUSTED_PROXIES"] == proxy_address
    subnet = compose["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    import ipaddress
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    assert gateway["STAFF_COOKIE_SECURE"] == "true"
    conf = (ROOT / "docker" / "nginx.conf.template").read_text()
    # The proxy replaces (never appends to) the forwarded address, so clients cannot forge it.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf
    assert "ssl_certificate     /etc/nginx/certs/fullchain.pem;" in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf and "return 308 https://" in conf
    assert re.search(r"client_max_body_size\s+3m;", conf)


def test_retention_job_is_scheduled(compose: dict) -> None:
    job = compose["services"]["retention"]
    assert job["image"] == compose["services"]["gateway"]["image"]
    assert job["command"] == ["-m", "retention", "run"]
    env = dict(_env_items(job))
    assert env["DATABASE_URL"].startswith("postgresql://") and env["APP_ENV"] == "production"
    assert env["RETENTION_INTERVAL_HOURS"].startswith("${RETENTION_INTERVAL_HOURS")
    assert env["CONVERSATION_RETENTION_DAYS"] == "${CONVERSATION_RETENTION_DAYS:-180}"
    # Rasa's tracker is in the same database the retention job purges.
    rasa = dict(_env_items(compose["services"]["rasa"]))
    assert rasa["POSTGRES_HOST"] in env["DATABASE_URL"] and rasa["POSTGRES_DB"] in env["DATABASE_URL"]


def test_rasa_can_scale(compose: dict) -> None:
    rasa = compose["services"]["rasa"]
    assert "container_name" not in rasa
    assert "ports" not in rasa
    assert rasa.get("deploy", {}).get("replicas", 1) >= 2


def test_rasa_api_requires_the_token(compose: dict) -> None:
    env = dict(_env_items(compose["services"]["rasa"]))
    assert env["RASA_TOKEN"].startswith("${RASA_TOKEN:?")
    gateway = dict(_env_items(compose["services"]["gateway"]))
    assert gateway["RASA_TOKEN"].startswith("${RASA_TOKEN")


def test_no_secret_literal_values(compose: dict) -> None:
    for name, service in compose["services"].items():
        for key, value in _env_items(service):
            if SECRET_NAME.search(key):
                assert INTERPOLATION.match(value), f"{name}.{key} must come from .env, not {value!r}"
            # Passwords embedded in URLs must be interpolated too.
            literal = re.sub(r"\$\{[^}]*\}", "", value)
            for password in re.findall(r"://[^:/@]*:([^@]*)@", literal):
                assert not password, f"{name}.{key} has a literal password"


def test_env_example_is_committed_and_env_is_ignored() -> None:
    assert ENV_EXAMPLE.is_file()
    names = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    assert used <= names, f".env.example lacks {sorted(used - names)}"
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored


def test_start_order_waits_for_health(compose: dict) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "actions", "rasa", "gateway", "proxy", "retention"):
        assert "healthcheck" in services[name] or _has_image_healthcheck(name), name
    assert services["rasa"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["rasa"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["gateway"]["depends_on"]["rasa"]["condition"] == "service_healthy"
    assert set(compose["volumes"]) >= {"pgdata", "redisdata"}


def _has_image_healthcheck(service: str) -> bool:
    dockerfile = ROOT / "docker" / f"{service}.Dockerfile"
    return dockerfile.is_file() and "HEALTHCHECK" in dockerfile.read_text()


def test_production_endpoints_have_no_literal_secrets() -> None:
    data = yaml.safe_load((ROOT / "endpoints.production.yml").read_text())
    assert data["tracker_store"]["type"] == "stack.tracker_store.TunedSQLTrackerStore"
    assert data["tracker_store"]["dialect"] == "postgresql"
    assert data["lock_store"]["type"] == "redis"
    for section in ("tracker_store", "lock_store"):
        for key in ("url", "password"):
            assert str(data[section][key]).startswith("${"), (section, key)
    embedded = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    assert "${" not in (ROOT / "endpoints.yml").read_text()  # works with no env set
    assert embedded["lock_store"]["type"] == "in_memory"
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text())
    assert list(credentials) == ["rest"]
