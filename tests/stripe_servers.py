"""Stripe offline: the official SDK against localstripe (payments, refunds, signed webhooks) and
tests/stripe_connect_server.py (Connect: accounts, account links, transfers, reversals; and
balance transactions with Stripe's fees, built on localstripe's charges and refunds).

The fixtures are registered once, in tests/conftest.py, so the billing tests and the browser
journeys share one localstripe process (two would overwrite each other's state file).

localstripe is GPL: it only runs as a separate server process here and is never imported. It
keeps one global state, so these tests share it and run serially (the suite is not parallel).
localstripe 1.15.10 writes its state to /tmp/localstripe.pickle whatever TMPDIR says; TMPDIR is
set to a pytest folder anyway, and --from-scratch starts each session empty.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests import stripe_connect_server

WEBHOOK_SECRET = "whsec_spindle_tests"
SECRET_KEY = "sk_test_spindle"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStripe:
    """A localstripe process on a free port; stop() and start() simulate Stripe going away."""

    def __init__(self, executable: str, tmpdir: Path):
        self.executable = executable
        self.tmpdir = tmpdir
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.webhook_url = ""

    def start(self, *, from_scratch: bool = False) -> bool:
        args = [self.executable, "--port", str(self.port)] + (["--from-scratch"] if from_scratch else [])
        log = open(self.tmpdir / "localstripe.log", "ab")  # noqa: SIM115 - closed with the process
        from tests.conftest import subprocess_env

        self.process = subprocess.Popen(
            args, env=subprocess_env(TMPDIR=str(self.tmpdir)), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                request = urllib.request.Request(
                    f"{self.url}/v1/customers", headers={"Authorization": f"Bearer {SECRET_KEY}"}
                )
                urllib.request.urlopen(request, timeout=1).read()
                if self.webhook_url:  # localstripe keeps webhook settings in memory only
                    self.configure_webhook(self.webhook_url)
                return True
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def configure_webhook(self, url: str) -> None:
        self.webhook_url = url
        data = urllib.parse.urlencode({"url": url, "secret": WEBHOOK_SECRET}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/_config/webhooks/spindle", data=data), timeout=5)


class WebhookInbox:
    """Receives localstripe's webhook deliveries (raw body + Stripe-Signature) for the tests
    to hand to our endpoint in any order, any number of times."""

    def __init__(self):
        self.deliveries: list[tuple[bytes, str]] = []
        self.lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with inbox.lock:
                    inbox.deliveries.append((body, self.headers.get("Stripe-Signature", "")))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def clear(self) -> None:
        with self.lock:
            self.deliveries.clear()

    def wait_for(self, event_type: str, *, object_id: str, timeout: float = 15) -> list[tuple[bytes, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [
                    (body, sig)
                    for body, sig in self.deliveries
                    if (event := json.loads(body))["type"] == event_type and event["data"]["object"]["id"] == object_id
                ]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"localstripe sent no {event_type} for {object_id}")


LOCK_PATH = Path("/tmp/spindle-localstripe.lock")  # beside the pickle path localstripe hard-codes


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    from tests.conftest import skip_unless_ci

    executable = shutil.which("localstripe", path=os.path.dirname(sys.executable))
    if executable is None:
        skip_unless_ci("localstripe is not installed in this virtualenv (pip install localstripe)")
    # localstripe saves its state to the fixed path /tmp/localstripe.pickle when it stops and
    # reads it back when it starts (the stop/start tests rely on that), whatever TMPDIR says: two
    # test sessions on one machine would read each other's state. The first session to need it
    # holds this lock until it ends; another one waits here.
    with open(LOCK_PATH, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = LocalStripe(executable, tmp_path_factory.mktemp("localstripe"))
        if not server.start(from_scratch=True):
            server.stop()
            skip_unless_ci("localstripe could not start")
        yield server
        server.stop()


@pytest.fixture(scope="session")
def webhook_inbox(localstripe):
    inbox = WebhookInbox()
    localstripe.configure_webhook(inbox.url)
    yield inbox
    inbox.server.shutdown()


@pytest.fixture(scope="session")
def connect_server():
    server, state = stripe_connect_server.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


@pytest.fixture
def stripe_on(settings, localstripe, webhook_inbox, connect_server):
    """Card payments and Connect payouts switched on, pointed at the local servers."""
    if localstripe.process is None:
        assert localstripe.start(), "localstripe did not restart"
    connect_url, state = connect_server
    state.reset(upstream=localstripe.url)
    webhook_inbox.clear()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_spindle"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe.url
    settings.STRIPE_CONNECT_API_BASE = connect_url
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return localstripe
