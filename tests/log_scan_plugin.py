"""A pytest plugin: the log of the whole test run holds no secret and no contact detail (issue 13,
point 4: "a test scans the log of a full test run for them").

For the whole session every log record of every logger (DEBUG and up: the root logger is set to
DEBUG and ``SDD_CRM_LOG_LEVEL`` to ``DEBUG`` for the apps the tests create) is written, through
the application's own JSON formatter (:mod:`sdd_crm.logs`, masks included: the scan sees what
production would write), to ``log-scan.jsonl`` in the session's temporary directory. At the end
that file is scanned for:

* the passwords the tests sign in with (``PASSWORD = …``, ``WRONG = …``, ``password="…"`` and
  ``"new_password": "…"`` in the test modules, ``tests/conftest.py``'s fixture password included);
* API tokens (``sdd_`` + ``secrets.token_urlsafe(32)``, sdd_crm/auth/services.py), bare
  ``token_urlsafe(32)`` secrets (server-side session ids, calendar-feed secrets) and signed Flask
  session cookies (itsdangerous: ``payload.timestamp.signature``);
* e-mail addresses (also percent-encoded) and phone numbers.

Anything found is printed (the line number, what it is, and the line with the find replaced)
and the session fails. SQLAlchemy's loggers stay at WARNING: their INFO/DEBUG output is the SQL
echo (statements and result rows), which the application never turns on.

Enabled by ``pytest_plugins = ["log_scan_plugin"]`` in tests/conftest.py; ``-p
no:log_scan_plugin`` switches it off for one run.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
LOG_NAME = "log-scan.jsonl"
QUIET_LOGGERS = ("sqlalchemy",)  # the SQL echo: statements and rows, never on in the app

# A password in a test module: PASSWORD = "...", WRONG = "...", password="..." (an argument),
# "new_password": "..." (form data); eight characters or more.
_PASSWORD_IN_TESTS = (
    re.compile(r"\b[A-Za-z_]*(?:password|PASSWORD|WRONG)[A-Za-z_]*\s*(?::\s*str\s*)?=\s*"
               r"[\"']([^\"'\n]{8,})[\"']"),
    re.compile(r"[\"'][a-z_]*password[a-z_]*[\"']\s*:\s*[\"']([^\"'\n]{8,})[\"']"),
)

PATTERNS: dict[str, re.Pattern] = {
    "API token": re.compile(r"sdd_[A-Za-z0-9_-]{20,}"),
    "session cookie": re.compile(r"\.?e[yJ][A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,8}\.[A-Za-z0-9_-]{20,}"),
    # secrets.token_urlsafe(32): 43 characters with upper case, lower case and digits (a long
    # snake_case name or a hex digest has not all three).
    "random secret": re.compile(
        r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*\d)"
        r"[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    "e-mail address": re.compile(
        r"[A-Za-z0-9._+-]+(?:@|%(?:25)*40|\(at\))[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "phone number": re.compile(
        r"(?<![\w.%/+-])(?:(?:\+|00)[1-9]\d{0,2}[\s.-]?(?:\(0\)[\s.-]?)?(?:\d[\s.-]?){6,11}\d"
        r"|0(?:[\s-]?\d){9})(?![\w-])"),
}


@dataclass(frozen=True)
class Finding:
    line_number: int
    kind: str
    masked_line: str


def fixture_passwords(tests_dir: Path = TESTS) -> set[str]:
    """The passwords the test modules sign in with (their password constants)."""
    found: set[str] = set()
    for path in sorted(tests_dir.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in _PASSWORD_IN_TESTS:
            found.update(pattern.findall(text))
    return found


def scan(lines, passwords=()) -> list[Finding]:
    """Every secret or contact detail in ``lines``, each line shown with its finds replaced by
    ``«kind»`` (so the report does not print them again)."""
    patterns = dict(PATTERNS)
    if passwords:
        longest_first = sorted(set(passwords), key=len, reverse=True)
        patterns["password"] = re.compile("|".join(re.escape(p) for p in longest_first))
    findings = []
    for number, line in enumerate(lines, 1):
        kinds = [kind for kind, pattern in patterns.items() if pattern.search(line)]
        if not kinds:
            continue
        masked = line.rstrip("\n")
        for kind in kinds:
            masked = patterns[kind].sub(f"«{kind}»", masked)
        findings.extend(Finding(number, kind, masked) for kind in kinds)
    return findings


class _ScanState:
    def __init__(self, path: Path):
        from sdd_crm.logs import make_handler

        self.path = path
        self.stream = path.open("w", encoding="utf-8")
        self.handler = make_handler("json", stream=self.stream)
        self.handler.setLevel(logging.DEBUG)
        self.findings: list[Finding] = []
        self.saved: list[tuple[logging.Logger, int]] = []
        self.environ = os.environ.get("SDD_CRM_LOG_LEVEL")

    def start(self) -> None:
        root = logging.getLogger()
        self.saved = [(root, root.level)] + [
            (logging.getLogger(name), logging.getLogger(name).level) for name in QUIET_LOGGERS]
        self.ensure()
        os.environ["SDD_CRM_LOG_LEVEL"] = "DEBUG"  # the apps the tests create log everything

    def ensure(self) -> None:
        """Attached to the root logger at DEBUG. Alembic's ``fileConfig`` (migrations/env.py,
        run by the ``app`` fixture's upgrade) removes the root logger's handlers and sets it
        to WARNING: put back before every test phase and after every fixture set-up."""
        root = logging.getLogger()
        if self.handler not in root.handlers:
            root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)

    def stop(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        for logger, level in self.saved:
            logger.setLevel(level)
        if self.environ is None:
            os.environ.pop("SDD_CRM_LOG_LEVEL", None)
        else:
            os.environ["SDD_CRM_LOG_LEVEL"] = self.environ
        self.handler.close()
        self.stream.close()


_KEY = pytest.StashKey[_ScanState]()


def _log_dir(config) -> Path:
    factory = getattr(config, "_tmp_path_factory", None)  # pytest's tmp_path_factory
    if factory is not None:
        return factory.getbasetemp()
    return Path(tempfile.mkdtemp(prefix="sdd-crm-log-scan-"))


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin has set up its factory
def pytest_configure(config):
    state = _ScanState(_log_dir(config) / LOG_NAME)
    state.start()
    config.stash[_KEY] = state


def _ensure(config) -> None:
    state = config.stash.get(_KEY, None)
    if state is not None:
        state.ensure()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    try:
        return (yield)
    finally:
        _ensure(request.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _ensure(item.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    _ensure(item.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    _ensure(item.config)


def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(_KEY, None)
    if state is None:
        return
    state.stop()
    with state.path.open(encoding="utf-8") as lines:
        state.findings = scan(lines, fixture_passwords())
    if state.findings and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_KEY, None)
    if state is None:
        return
    if not state.findings:
        terminalreporter.write_line(f"log scan: no secret or contact detail in {state.path}")
        return
    terminalreporter.section("log scan: secrets or contact details in the log", red=True)
    for finding in state.findings[:50]:
        terminalreporter.write_line(
            f"{state.path.name}:{finding.line_number}: {finding.kind}: {finding.masked_line[:400]}")
    if len(state.findings) > 50:
        terminalreporter.write_line(f"... and {len(state.findings) - 50} more")
    terminalreporter.write_line(f"log scan FAILED: {len(state.findings)} find(s) in {state.path}",
                                red=True)
