"""The pieces of ``manage.py bench`` that need no market: the BENCH line format, the benchmark
database's name and the URL its child processes connect with."""

import dj_database_url

from marketplace.benchmarks import Figure, database_url, percentile
from marketplace.management.commands.bench import bench_database_name


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
