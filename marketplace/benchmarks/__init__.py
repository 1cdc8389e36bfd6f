"""The parts of ``manage.py bench`` beyond matching: ingestion, booking and catalogue search.

Each part is a module with a ``run(...)`` returning :class:`Figure` rows. The code under test
(the metering and booking services, the HTTP views) uses Django's *default* database, so it runs
in processes whose default database IS the benchmark database: a live HTTP server
(:mod:`.server`) and a worker (:mod:`.worker`), both started with ``DATABASE_URL`` pointing at it
(:func:`bench_env`). The benchmark command itself reaches that database through its ``bench``
alias for setup, baselines and checks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings


@dataclass(frozen=True)
class Figure:
    """One ``BENCH`` line: the figure, its unit and the baseline measured the same way in the same run."""

    name: str
    value: float
    unit: str
    baseline: float | None
    note: str = ""

    def line(self) -> str:
        base = "-" if self.baseline is None else f"{self.baseline:.2f}"
        ratio = f"{self.value / self.baseline:.2f}" if self.baseline else "-"
        text = f"BENCH {self.name} {self.value:.2f} {self.unit} baseline={base} ratio={ratio}"
        return f"{text} {self.note}".rstrip()


def percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def database_url(default: dict, name: str) -> str:
    user = quote(default.get("USER") or "", safe="")
    password = quote(default.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(str(default.get("HOST") or ""), safe="")  # a socket directory (embedded server) is a path
    port = f":{default['PORT']}" if default.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(name, safe='')}"


def bench_env(default: dict, name: str, **extra: str) -> dict[str, str]:
    """The environment of a child process whose default database is the benchmark database."""
    env = {**os.environ, "DATABASE_URL": database_url(default, name), "PYTHONUNBUFFERED": "1", **extra}
    env.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``python -m marketplace.benchmarks.server`` on a free loopback port, as a context manager."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.process = subprocess.Popen(  # noqa: S603 — our own module, fixed arguments
            [sys.executable, "-m", "marketplace.benchmarks.server", str(self.port)],
            cwd=settings.BASE_DIR,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/__bench__/ping/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_worker(env: dict[str, str], part: str, spec: dict, workdir: Path) -> dict:
    """Run ``python -m marketplace.benchmarks.worker <part> <spec file>`` and return its JSON answer."""
    spec_path = workdir / f"{part}.json"
    spec_path.write_text(json.dumps(spec))
    completed = subprocess.run(  # noqa: S603 — our own module, fixed arguments
        [sys.executable, "-m", "marketplace.benchmarks.worker", part, str(spec_path)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark worker {part} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
