"""The benchmark's live server: ``python -m marketplace.benchmarks.server PORT``.

Django's threaded WSGI server (what ``runserver`` uses, without autoreload or static files),
serving the site plus one trivial view from :mod:`marketplace.benchmarks.urls` — a URLconf only
this process loads, so the trivial view never exists in production. The default database is
whatever ``DATABASE_URL`` says: the benchmark starts it on the benchmark database.
"""

from __future__ import annotations

import logging
import sys


def main(port: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import WSGIServer, run

    settings.ROOT_URLCONF = "marketplace.benchmarks.urls"
    logging.getLogger("django.server").setLevel(logging.WARNING)  # no line per request
    WSGIServer.request_queue_size = 64  # 16+ clients connecting at once
    run("127.0.0.1", port, WSGIHandler(), threading=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
