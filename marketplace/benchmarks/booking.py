"""``book_per_s`` and ``double_bookings``.

``CLIENTS`` concurrent clients (threads in a worker whose default database is the benchmark
database) book overlapping slots on a few hot capacity-1 resources through
``booking.book_slices`` — 1 to 3 hours starting on a quarter hour inside the resources' idle
windows, so most attempts collide. ``book_per_s`` counts booking *decisions* per second (booked or
cleanly refused as taken). Then the bookings made are removed and the same attempts are replayed
as raw ``INSERT``s into the bookings table from as many connections, under the same exclusion
constraint (``booking_no_overlap``): the baseline (concurrent checks of one exclusion constraint
can deadlock; such an INSERT is retried, as a client would). ``double_bookings`` counts, after each run,
pairs of overlapping active bookings on one capacity-1 resource (an SQL self-join); it must be 0.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from django.db import connections

from marketplace.benchmarks import Figure, run_worker

CLIENTS = 16
HOT = 4

DOUBLE_BOOKINGS = """
    SELECT count(*) FROM capacity_booking a JOIN capacity_booking b
      ON a.resource_id = b.resource_id AND a.id < b.id AND a.span && b.span
    JOIN capacity_resource r ON r.id = a.resource_id
    WHERE r.capacity = 1 AND a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
      AND a.resource_id = ANY(%s)
"""


def hot_resources(alias: str, now) -> list[int]:
    """Listed capacity-1 resources of verified providers with the most idle time ahead."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            """SELECT r.id FROM capacity_resource r
               JOIN capacity_providerprofile p ON p.organisation_id = r.provider_id
               JOIN capacity_idlewindow w ON w.resource_id = r.id AND lower(w.span) > %s
               WHERE r.status = 'listed' AND r.capacity = 1 AND p.status = 'verified'
               GROUP BY r.id ORDER BY sum(upper(w.span) - lower(w.span)) DESC, r.id LIMIT %s""",
            [now + timedelta(hours=1), HOT],
        )
        return [row[0] for row in cursor.fetchall()]


def attempts(alias: str, resource_ids: list[int], count: int, now, rng: random.Random) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, lower(span), upper(span) FROM capacity_idlewindow"
            " WHERE resource_id = ANY(%s) AND lower(span) > %s ORDER BY resource_id, lower(span)",
            [resource_ids, now + timedelta(hours=1)],
        )
        windows = cursor.fetchall()
    made = []
    for _ in range(count):
        resource_id, lo, hi = rng.choice(windows)
        hours = rng.randint(1, 3)
        quarters = int((hi - lo) / timedelta(minutes=15)) - hours * 4
        start = lo + timedelta(minutes=15 * rng.randint(0, max(quarters, 0)))
        made.append((resource_id, start.isoformat(), min(start + timedelta(hours=hours), hi).isoformat()))
    return made


def _count(alias: str, sql: str, params) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _raw_inserts(connect, attempt_list: list[tuple]) -> tuple[float, int, int, int]:
    """The baseline: each attempt one INSERT in its own transaction; the constraint refuses overlaps."""
    queues = [attempt_list[i::CLIENTS] for i in range(CLIENTS)]
    totals = {"booked": 0, "refused": 0, "retried": 0}
    lock = threading.Lock()
    gate = threading.Barrier(CLIENTS)

    def client(queue: list) -> None:
        booked = refused = retried = 0
        backoff = random.Random(len(queue))  # jitter only
        with connect() as conn:
            gate.wait()
            for resource_id, start, end in queue:
                while True:
                    try:
                        conn.execute(
                            "INSERT INTO capacity_booking (resource_id, span, status, exclusive, created_at,"
                            " updated_at) VALUES (%s, tstzrange(%s, %s, '[)'), 'confirmed', true, now(), now())",
                            [resource_id, start, end],
                        )
                        booked += 1
                    except psycopg.errors.ExclusionViolation:
                        refused += 1
                    except psycopg.errors.DeadlockDetected:
                        # Concurrent checks of one exclusion constraint can deadlock; a client backs
                        # off a random moment (or two clients can meet again and again) and retries.
                        retried += 1
                        time.sleep(backoff.uniform(0.005, 0.05))
                        continue
                    break
        with lock:
            totals["booked"] += booked
            totals["refused"] += refused
            totals["retried"] += retried

    threads = [threading.Thread(target=client, args=(queue,)) for queue in queues]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, totals["booked"], totals["refused"], totals["retried"]


def run(*, alias: str, env: dict, workdir: Path, connect, count: int, rng: random.Random, out) -> list[Figure]:
    from django.utils import timezone

    now = timezone.now()
    hot = hot_resources(alias, now)
    attempt_list = attempts(alias, hot, count, now, rng)
    first_new = _count(alias, "SELECT COALESCE(max(id), 0) + 1 FROM capacity_booking", [])

    service = run_worker(env, "book", {"clients": CLIENTS, "attempts": attempt_list}, workdir)
    if service["errors"]:
        raise RuntimeError(f"{service['errors']} booking attempts failed with an error")
    doubles = _count(alias, DOUBLE_BOOKINGS, [hot])

    with connections[alias].cursor() as cursor:  # the same empty slots for the baseline
        cursor.execute("DELETE FROM capacity_booking WHERE id >= %s", [first_new])
    raw_s, raw_booked, raw_refused, raw_retried = _raw_inserts(connect, attempt_list)
    raw_doubles = _count(alias, DOUBLE_BOOKINGS, [hot])
    if raw_booked + raw_refused != len(attempt_list):
        raise RuntimeError("some raw INSERT clients failed")

    out.write(
        f"booking: {len(attempt_list)} attempts on {len(hot)} hot resources from {CLIENTS} clients:"
        f" service booked {service['booked']}, refused {service['refused']} in {service['seconds']:.1f} s;"
        f" raw INSERT booked {raw_booked}, refused {raw_refused} in {raw_s:.1f} s"
        f" ({raw_retried} retried after a deadlock)"
    )
    decided = service["booked"] + service["refused"]
    return [
        Figure("book_per_s", decided / service["seconds"], "bookings/s", (raw_booked + raw_refused) / raw_s),
        Figure("double_bookings", doubles, "pairs", raw_doubles, note="(must be 0)"),
    ]
