"""Sending e-mail: the SMTP connection of the ``MAIL_*`` settings, in one place.

E-mail is optional: without ``MAIL_SERVER`` notifications stay in the app, the daily digest is
not sent and there is no "forgot password" link (that also needs ``BASE_URL``: a reset link is
never built from the request's Host header, which a client chooses).
"""

from __future__ import annotations

import smtplib

from flask import current_app


def is_configured() -> bool:
    """An SMTP server is set: notification e-mails and the daily digest go out."""
    return bool(current_app.config.get("MAIL_SERVER"))


def links_configured() -> bool:
    """E-mail with links back to the app can be sent: an SMTP server and the public address."""
    return is_configured() and bool(current_app.config.get("BASE_URL"))


def link(path: str) -> str:
    """``path`` on the app's public address (``BASE_URL``), or "" without one."""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + path if base else ""


def smtp():
    """An open SMTP connection (use it as a context manager)."""
    cfg = current_app.config
    cls = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
    server = cls(cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT", 25)), timeout=30)
    if cfg.get("MAIL_USE_TLS"):
        server.starttls()
    if cfg.get("MAIL_USERNAME"):
        server.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD", ""))
    return server


def sender() -> str:
    return current_app.config.get("MAIL_FROM", "sdd-crm@localhost")
