"""gunicorn settings for SDD CRM behind nginx (deploy/nginx/sdd-crm.conf).

    gunicorn --config deploy/gunicorn.conf.py wsgi:app

as deploy/systemd/sdd-crm-web.service runs it. The app's own settings come from the environment
(deploy/sdd-crm.env.example, README "Configuration"); these are the server's, each overridable
by gunicorn's usual environment variables or command-line options:

* ``GUNICORN_BIND`` (default ``127.0.0.1:8000``): only nginx on this machine talks to gunicorn.
* ``WEB_CONCURRENCY`` (gunicorn's own name; default 2 × cores + 1, gunicorn's rule of thumb):
  sync workers, each serving one request at a time. Every worker holds its own database pool.
* ``FORWARDED_ALLOW_IPS`` (gunicorn's own name; default ``127.0.0.1,::1``): the proxies whose
  ``X-Forwarded-Proto`` gunicorn believes. The app itself reads the forwarded client address,
  scheme and host through ProxyFix with ``SDD_CRM_PROXY_FIX_HOPS=1``.

Logs go to stdout/stderr, so journald keeps them. Access lines pass the app's mask
(sdd_crm/logmask.py puts a filter on ``gunicorn.access`` when the app is created in each
worker): no calendar-feed secret and no searched name or e-mail address reaches the log.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# Pages answer in well under a second (benchmarks/RESULTS.md); imports and large exports run as
# background jobs. A request still busy after a minute is stuck: the worker is replaced. nginx
# waits a little longer (proxy_read_timeout 75s), so gunicorn's verdict comes first.
timeout = 60
# On SIGTERM / systemctl stop: finish the requests in flight for up to this long.
graceful_timeout = 30
# nginx speaks HTTP/1.0 to its upstream by default and closes; nothing to keep alive.
keepalive = 2
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The app is created in each worker, not in the master: no database connection or embedded
# worker thread is ever shared across a fork.
preload_app = False

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client as nginx saw it (the peer is nginx itself), the request line, status, size, time.
access_log_format = '%({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'

# systemd gives the unit a tmpfs directory (RuntimeDirectory=): the workers' heartbeat files
# and gunicorn's control socket go there, never onto a disk or a read-only home.
_runtime = os.environ.get("RUNTIME_DIRECTORY")
if _runtime:
    worker_tmp_dir = _runtime
    control_socket = os.path.join(_runtime, "gunicorn.ctl")
