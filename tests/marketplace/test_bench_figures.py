"""``manage.py bench``: the BENCH line format, the benchmark database's name and the URL its child
processes connect with, and a smoke run at a tiny scale (not a benchmark: no figure is judged)."""

import csv
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
from django.db import connection

from marketplace.benchmarks import Figure, database_url, percentile
from marketplace.management.commands.bench import bench_database_name
from tests.conftest import database_url as conftest_database_url
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_figure_prints_the_documented_line():
    assert Figure("book_per_s", 91.256, "bookings/s", 985.1).line() == (
        "BENCH book_per_s 91.26 bookings/s baseline=985.10 ratio=0.09"
    )
    assert Figure("double_bookings", 0, "pairs", 0, note="(must be 0)").line() == (
        "BENCH double_bookings 0.00 pairs baseline=0.00 ratio=- (must be 0)"
    )


def test_the_benchmark_database_is_named_after_the_configured_one():
    assert bench_database_name({"NAME": "spindle_alice"}) == "spindle_alice_bench"
    assert bench_database_name({"NAME": "spindle_bob"}) != bench_database_name({"NAME": "spindle_alice"})


def test_child_processes_get_a_url_for_the_benchmark_database():
    default = {"USER": "postgres", "PASSWORD": "p@ss/word", "HOST": "db.local", "PORT": 5433}
    assert database_url(default, "spindle_x_bench") == "postgres://postgres:p%40ss%2Fword@db.local:5433/spindle_x_bench"
    assert database_url({"USER": "", "PASSWORD": "", "HOST": "", "PORT": ""}, "b") == "postgres:///b"
    # The embedded server (marketplace.devdb) listens on a socket directory.
    embedded = {"USER": "postgres", "PASSWORD": "", "HOST": "/work/x/.pgdata", "PORT": "5432"}
    parsed = dj_database_url.parse(database_url(embedded, "spindle_bench"))
    assert (parsed["HOST"], str(parsed["PORT"]), parsed["NAME"]) == ("/work/x/.pgdata", "5432", "spindle_bench")


def test_percentile_picks_a_measured_value():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0


@pytest.mark.slow
@pytest.mark.django_db
def test_the_benchmark_builds_its_market_and_measures_at_a_tiny_scale(tmp_path):
    """A smoke run of the set-based market and the invoice run against the current schema (a new
    NOT NULL column the raw INSERTs do not fill breaks `make bench`, and only a run shows it).
    It runs as `make bench` does, in its own process, on <test database>_bench."""
    results = tmp_path / "results.csv"
    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="marketplace.settings",
        DEBUG="1",
        DATABASE_URL=conftest_database_url(connection.settings_dict),
    )
    command = [sys.executable, "manage.py", "bench", "--scale", "tiny", "--only", "matching", "--only", "invoices"]
    command += ["--requests", "5", "--results", str(results)]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    names = {line.split()[1] for line in run.stdout.splitlines() if line.startswith("BENCH ")}
    assert {"match_p50_ms", "match_p95_ms", "invoice_run_s"} <= names
    with results.open() as handle:
        recorded = list(csv.DictReader(handle))
    assert {row["metric"] for row in recorded} >= {"match_p50_ms", "invoice_run_s"}
    assert {row["scale"] for row in recorded} == {"tiny"}
