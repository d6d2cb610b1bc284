"""Production mode (``SDD_CRM_PRODUCTION=true``): what the app refuses to start with.

Each refusal names the setting and says how to fix it; all of them come in one
:class:`sdd_crm.config.ConfigError`, so an operator fixes the environment file once. Outside
production none of this applies: ``make run``, the tests and the benchmarks run on plain HTTP
with a generated secret.

* **The secret key** must be given (``SDD_CRM_SECRET_KEY``): never the key generated into the
  instance folder, which each machine would make differently (sessions signed on one web
  machine would be refused by the next), and never a placeholder or a short key.
* **SQLite on a network file system**: SQLite's locking is unreliable over NFS, SMB and
  the like (https://www.sqlite.org/useovernet.html), and a corrupt database is what follows.
* **Cookies not marked Secure**: the session and remember-me cookies would travel over plain
  HTTP to anyone who can make the browser ask for ``http://``.
* **Unknown ``SDD_CRM_*`` variables**: a misspelt setting is silently not applied; outside
  production it is only logged.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

MIN_SECRET_LENGTH = 32
# Keys that are no secret: placeholders from examples and the keys our own tests use.
WEAK_SECRETS = frozenset({
    "secret", "secret-key", "secret_key", "changeme", "change-me", "dev", "development", "test",
    "test-secret", "x", "benchmark", "replace-me",
    "replace-with-the-output-of-python-c-import-secrets-print-secrets-token-hex-32"})
# File system types on which SQLite must not live (/proc/mounts names).
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre", "gpfs",
    "ocfs2", "gfs2", "davfs", "fuse.sshfs", "sshfs", "fuse.s3fs", "fuse.rclone", "fuse.gcsfuse",
    "fuse.glusterfs", "fuse.cephfs"})
MOUNTS = "/proc/mounts"


def refusals(app, labels: dict, unknown: list[str]) -> list[str]:
    """Every reason this configuration must not run in production (empty: it may)."""
    config = app.config
    problems = []
    secret = config["SECRET_KEY"]
    label = labels["SECRET_KEY"]
    if not secret:
        problems.append(f"{label}: ontbreekt; in productie genereert de app geen sleutel. Zet "
                        "SDD_CRM_SECRET_KEY op de uitvoer van "
                        "`python -c 'import secrets; print(secrets.token_hex(32))'`")
    elif secret.strip().lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        problems.append(f"{label}: een voorbeeld- of te korte sleutel (minder dan "
                        f"{MIN_SECRET_LENGTH} tekens); zet een nieuwe van "
                        "`python -c 'import secrets; print(secrets.token_hex(32))'`")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if not config[name]:
            problems.append(f"{labels[name]}: moet true zijn in productie (cookies alleen over "
                            "HTTPS); verwijder de instelling of zet haar op true")
    path = sqlite_path(config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    if path:
        fstype = filesystem_type(os.path.dirname(path))
        if fstype in NETWORK_FILESYSTEMS:
            problems.append(f"{labels['SQLALCHEMY_DATABASE_URI']}: SQLite-bestand {path} staat op "
                            f"een netwerkbestandssysteem ({fstype}), waar SQLite's vergrendeling "
                            "niet betrouwbaar is; gebruik PostgreSQL (DATABASE_URL) of een lokale "
                            "schijf")
    return problems + [f"{message} (productie weigert onbekende variabelen)" for message in unknown]


def sqlite_path(uri: str | None, instance_path: str) -> str | None:
    """The database file of a SQLite URL (the default one when none is set), else None."""
    if not uri:
        return os.path.join(instance_path, "sdd_crm.sqlite3")
    url = sa.engine.make_url(uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return os.path.abspath(url.database)


def filesystem_type(path: str, mounts: str | None = None) -> str | None:
    """The type of the file system holding ``path`` (or its nearest existing parent), from the
    mount table; None where there is none (not Linux)."""
    path = os.path.realpath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    best, fstype = "", None
    try:
        with open(mounts or MOUNTS, encoding="utf-8") as table:
            for line in table:
                parts = line.split()
                if len(parts) < 3:
                    continue
                point = _unescape(parts[1])
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):  # the last of equal mounts is on top
                    best, fstype = point, parts[2].lower()
    except OSError:
        return None
    return fstype


def _unescape(field: str) -> str:
    r"""/proc/mounts writes a space in a mount point as \040 (octal), a tab as \011, ..."""
    return field.encode("latin-1").decode("unicode_escape") if "\\" in field else field
