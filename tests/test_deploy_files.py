"""deploy/ holds a working production set-up (issue 13, point 5).

gunicorn starts the app with deploy/gunicorn.conf.py in production mode and logs masked access
lines to stdout; the systemd units pass ``systemd-analyze verify`` and run real commands; the
nginx site lets through exactly the app's upload size, serves the static folder that ``make
install`` fills, and passes ``nginx -t``; deploy/sdd-crm.env.example names only real settings,
each with a valid value, and its placeholder secret is refused.
"""

from __future__ import annotations

import configparser
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask import Flask

from sdd_crm.config import DEFAULTS, SETTINGS, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
NGINX_SITE = DEPLOY / "nginx" / "sdd-crm.conf"
ENV_EXAMPLE = DEPLOY / "sdd-crm.env.example"
INSTALL_DIR = "/opt/sdd-crm"  # where the units and the nginx site expect the checkout
BIN = Path(sys.executable).parent
GUNICORN_VARIABLES = {"WEB_CONCURRENCY", "GUNICORN_BIND", "FORWARDED_ALLOW_IPS"}


def _server_env(tmp_path, **extra) -> dict:
    """A production environment of our own, on SQLite in tmp_path, without Redis."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SDD_CRM_")
           and k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL")}
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    env.update({"SDD_CRM_PRODUCTION": "true", "SDD_CRM_SECRET_KEY": secrets.token_hex(32),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}",
                "SDD_CRM_SCHEDULE_ENABLED": "false", "RUNTIME_DIRECTORY": str(run)})
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def _gunicorn(*args) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", *args]


# --- gunicorn -----------------------------------------------------------------------------------

def test_gunicorn_loads_the_deploy_config_and_the_app_in_production_mode(tmp_path):
    ok = subprocess.run(_gunicorn("--check-config", "wsgi:app"), cwd=ROOT, capture_output=True,
                        text=True, timeout=120, env=_server_env(tmp_path), check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    refused = subprocess.run(_gunicorn("--check-config", "wsgi:app"), cwd=ROOT,
                             capture_output=True, text=True, timeout=120,
                             env=_server_env(tmp_path, SDD_CRM_SECRET_KEY=None), check=False)
    assert refused.returncode != 0
    assert "SDD_CRM_SECRET_KEY: ontbreekt" in refused.stdout + refused.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Gunicorn:
    """gunicorn with deploy/gunicorn.conf.py on a free port, its stdout in a file."""

    def __init__(self, tmp_path):
        self.port = _free_port()
        self.log = tmp_path / "gunicorn.log"
        env = _server_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="1")
        with self.log.open("w") as out:
            self.process = subprocess.Popen(_gunicorn("wsgi:app"), cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_until_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, "gunicorn stopped"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.3)

    def wait_for_line(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                if text in line:
                    return line
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in gunicorn's log:\n{self.log.read_text()}")

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=40)


def _get(url, headers=None, context=None):
    """(status, headers, body) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_gunicorn_logs_masked_access_lines_with_the_forwarded_client_to_stdout(tmp_path):
    server = _Gunicorn(tmp_path)
    try:
        server.wait_until_up()
        _get(f"http://127.0.0.1:{server.port}/healthz?q=Jansen",
             headers={"X-Forwarded-For": "203.0.113.9"})  # 200, or 503 when something is down
        line = server.wait_for_line("/healthz")
    finally:
        server.stop()
    assert "203.0.113.9" in line and "***" in line
    assert "Jansen" not in server.log.read_text()


# --- systemd ------------------------------------------------------------------------------------

def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser


@pytest.mark.parametrize("name", ["sdd-crm-web.service", "sdd-crm-worker@.service",
                                  "sdd-crm-scheduler.service"])
def test_each_unit_runs_as_its_own_user_in_production_mode_and_hardened(name):
    service = _unit(name)["Service"]
    assert service["User"] == "sdd-crm" and service["Restart"] == "always"
    assert service["EnvironmentFile"] == "/etc/sdd-crm/sdd-crm.env"
    assert "SDD_CRM_PRODUCTION=true" in service["Environment"].split()
    assert service["NoNewPrivileges"] == "true" and service["PrivateTmp"] == "true"
    assert service["ProtectSystem"] == "strict"
    # Only the instance folder is writable (SQLite, when used, lives there); the scheduler,
    # which only talks to Redis, has nothing writable at all.
    writable = None if name == "sdd-crm-scheduler.service" else f"{INSTALL_DIR}/instance"
    assert service.get("ReadWritePaths") == writable
    assert service["WorkingDirectory"] == INSTALL_DIR


def test_the_units_start_the_web_server_the_workers_and_the_scheduler():
    web = _unit("sdd-crm-web.service")["Service"]["ExecStart"].split()
    worker = _unit("sdd-crm-worker@.service")["Service"]["ExecStart"].split()
    scheduler = _unit("sdd-crm-scheduler.service")["Service"]["ExecStart"].split()
    assert web == [f"{INSTALL_DIR}/.venv/bin/gunicorn", "--config", "deploy/gunicorn.conf.py",
                   "wsgi:app"]
    assert worker == [f"{INSTALL_DIR}/.venv/bin/flask", "--app", "wsgi", "rq", "worker"]
    assert scheduler == [f"{INSTALL_DIR}/.venv/bin/rq", "cron", "sdd_crm.jobs.cron_config",
                         "--url", "${REDIS_URL}"]


def test_the_worker_and_scheduler_commands_exist_as_written(tmp_path):
    """The worker's command line parses with the app loaded in production mode; the scheduler's
    configuration module imports."""
    worker = _unit("sdd-crm-worker@.service")["Service"]["ExecStart"].split()
    argv = [str(BIN / "flask"), *worker[1:], "--help"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=_server_env(tmp_path), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--with-scheduler" in result.stdout  # Flask-RQ's worker command, not another
    result = subprocess.run([str(BIN / "rq"), "cron", "--help"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0 and "--url" in result.stdout
    result = subprocess.run([sys.executable, "-c", "import sdd_crm.jobs.cron_config"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_systemd_analyze_verifies_the_units(tmp_path):
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.skip("systemd-analyze is not installed")
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace(f"{INSTALL_DIR}/.venv/bin", str(BIN))
        (tmp_path / unit.name).write_text(text.replace(INSTALL_DIR, str(ROOT)))
    (tmp_path / "sdd-crm-worker@1.service").symlink_to(tmp_path / "sdd-crm-worker@.service")
    names = ["sdd-crm-web.service", "sdd-crm-worker@1.service", "sdd-crm-scheduler.service"]
    result = subprocess.run([tool, "verify", "--man=no", *(str(tmp_path / n) for n in names)],
                            capture_output=True, text=True, timeout=120, check=False)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if "sdd-crm" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


# --- nginx --------------------------------------------------------------------------------------

def _site() -> str:
    return NGINX_SITE.read_text()


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def test_nginx_lets_through_exactly_the_apps_upload_size():
    sizes = re.findall(r"^\s*client_max_body_size\s+(\S+);", _site(), flags=re.MULTILINE)
    assert [_size(s) for s in sizes] == [DEFAULTS["MAX_CONTENT_LENGTH"]]


def test_nginx_serves_the_static_folder_that_make_install_fills():
    aliases = re.findall(r"^\s*alias\s+(\S+);", _site(), flags=re.MULTILINE)
    assert aliases
    for alias in aliases:
        assert alias.startswith(f"{INSTALL_DIR}/sdd_crm/static/")
        folder = ROOT / alias.removeprefix(f"{INSTALL_DIR}/")
        assert folder.is_dir(), folder
    assert (ROOT / "sdd_crm" / "static" / "css" / "app.css").is_file()
    if (ROOT / "sdd_crm" / "static" / "vendor" / ".installed").exists():  # `make assets` ran
        assert (ROOT / "sdd_crm" / "static" / "vendor" / "utrecht.css").is_file()


def test_nginx_forwards_one_hop_to_the_gunicorn_of_deploy_and_redirects_http():
    site = _site()
    assert re.search(r"upstream sdd_crm \{\s*server 127\.0\.0\.1:8000", site)  # gunicorn's bind
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert len(re.findall(rf"proxy_set_header {header} ", site)) == 1, header
    assert "return 301 https://$host$request_uri;" in site
    assert re.search(r"location = /healthz \{\s*proxy_pass http://sdd_crm;", site)
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in site
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", site).group(1))
    assert read_timeout > 60  # gunicorn's timeout answers first
    example = dict(_example_assignments())
    assert example["SDD_CRM_PROXY_FIX_HOPS"] == "1"


def _nginx_config(tmp_path, site: str) -> tuple[str, Path]:
    """nginx and a main configuration around ``site`` with a self-signed certificate, all in
    tmp_path (skips without nginx or openssl)."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    openssl = shutil.which("openssl")
    if not nginx or not openssl:
        pytest.skip("nginx (apt-get install nginx-light) or openssl is not installed")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=crm.example.org", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True,
                   timeout=60)
    site = site.replace("/etc/letsencrypt/live/crm.example.org/fullchain.pem",
                        str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/crm.example.org/privkey.pem",
                        str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    temp = "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers read tmp_path (0700)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"{user}pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  {mime}\n{temp}  access_log {tmp_path}/access.log;\n"
        f"  include {tmp_path}/site.conf;\n}}\n")
    return nginx, conf


def test_nginx_accepts_the_site(tmp_path):
    nginx, conf = _nginx_config(tmp_path, _site())
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "[warn]" in line]
    assert not warnings, warnings


def test_nginx_redirects_to_https_serves_static_files_and_proxies_the_rest(tmp_path):
    """The site for real, on free ports in front of gunicorn with deploy/gunicorn.conf.py."""
    http, https = _free_port(), _free_port()
    server = _Gunicorn(tmp_path)
    site = _site().replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
    site = re.sub(r"^\s*listen \[::\].*$", "", site, flags=re.MULTILINE)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
    site = site.replace(f"{INSTALL_DIR}/", f"{ROOT}/")
    try:
        nginx, conf = _nginx_config(tmp_path, site)
    except BaseException:
        server.stop()
        raise
    proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                             stderr=subprocess.DEVNULL, start_new_session=True)
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    try:
        server.wait_until_up()
        base = f"https://127.0.0.1:{https}"
        status, headers, _ = _get(f"http://127.0.0.1:{http}/organisations/?q=x")
        assert status == 301
        assert headers["Location"] == "https://127.0.0.1/organisations/?q=x"

        status, headers, body = _get(f"{base}/static/css/app.css", context=tls)
        assert status == 200 and body == (ROOT / "sdd_crm/static/css/app.css").read_bytes()
        assert headers["Cache-Control"] == "max-age=3600"
        assert "Content-Security-Policy" not in headers  # nginx's answer, not the app's
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")

        status, headers, _ = _get(f"{base}/healthz?q=Jansen", context=tls,
                                  headers={"X-Forwarded-For": "198.51.100.1"})
        assert status in (200, 503)
        # The app's own headers; HSTS only because the app knew the request came over HTTPS.
        assert "Content-Security-Policy" in headers
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        # nginx adds the real peer after whatever the client claimed; the app trusts one hop.
        line = server.wait_for_line("/healthz")
        assert "198.51.100.1, 127.0.0.1" in line and "Jansen" not in line
    finally:
        os.killpg(proxy.pid, signal.SIGTERM)
        proxy.wait(timeout=30)
        server.stop()


# --- the environment file -----------------------------------------------------------------------

def _example_assignments():
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"#?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            yield match.group(1), match.group(2)


def test_the_env_example_names_only_real_settings():
    known = {f"SDD_CRM_{n}" for n in SETTINGS.fields} | {"DATABASE_URL", "REDIS_URL"} | {
        f"SDD_CRM_{n}" for n in Flask.default_config} | GUNICORN_VARIABLES
    names = [name for name, _ in _example_assignments()]
    required = {"DATABASE_URL", "REDIS_URL", "SDD_CRM_SECRET_KEY", "SDD_CRM_PROXY_FIX_HOPS"}
    assert required <= set(names)
    assert set(names) <= known, set(names) - known


def test_the_env_example_passes_the_production_checks_once_its_secret_is_real(tmp_path,
                                                                             monkeypatch):
    """Every value in the example, the commented ones too, is valid; only the placeholder secret
    (which an operator must replace) stops the start."""
    for name in list(os.environ):
        if name.startswith("SDD_CRM_") or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SDD_CRM_PRODUCTION", "true")  # as the units set it
    for name, value in _example_assignments():
        if name not in GUNICORN_VARIABLES:
            monkeypatch.setenv(name, value)

    def load():
        app = Flask(__name__, instance_path=str(tmp_path / "instance"),
                    instance_relative_config=True)
        load_config(app)
        return app

    with pytest.raises(ConfigError) as caught:
        load()
    assert caught.value.problems == [caught.value.problems[0]]
    assert caught.value.problems[0].startswith("SDD_CRM_SECRET_KEY: een voorbeeld-")
    monkeypatch.setenv("SDD_CRM_SECRET_KEY", secrets.token_hex(32))
    config = load().config
    assert config["PROXY_FIX_HOPS"] == 1 and config["JOBS"] == "redis"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
