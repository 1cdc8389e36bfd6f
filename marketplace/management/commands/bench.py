"""``manage.py bench``: matching, ingestion, booking and catalogue figures on a synthetic market in
its own database.

Creates ``<configured database name>_bench`` on the configured PostgreSQL server (dropped first if
it exists, and again at the end unless ``--keep``), migrates it, fills it with set-based
``INSERT … SELECT`` statements (small: 10,000 resources and ~100,000 idle windows; large: 100,000
resources and ~1,000,000 idle windows) and vacuums it, then times a few hundred random match
requests against the bare SQL candidate query (category and envelope filters only) timed the same
way in the same run, and split plans against the brute-force optimum on small random instances.
The live parts (``marketplace.benchmarks``) follow: signed reading batches over HTTP on a live
server and through the metering service against ``COPY``; the catalogue page under a loopback
load against a trivial view; 16 concurrent clients booking a few hot resources against raw
``INSERT``s, with a double-booking count. Figures are printed as ``BENCH <metric> …`` lines and
appended with the git revision to ``bench/results.csv``.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from marketplace.benchmarks import Figure, LiveServer, bench_env, booking, ingest, invoice_run, search
from marketplace.matching import MatchRequest, find_matches, plan_split
from marketplace.matching.candidates import category_ids
from marketplace.matching.pricing import RateCard
from marketplace.matching.split import MILP, SplitOption, allocation_cost, brute_force, solve

ALIAS = "bench"
PARTS = ("matching", "ingest", "search", "booking", "invoices")
SCALES = {"tiny": 300, "small": 10_000, "large": 100_000}  # tiny: the smoke test's, not a benchmark
# Sizes of the live parts (marketplace.benchmarks): readings sent, gateways, booking attempts, searches.
LIVE = {
    "tiny": {"readings": 2_000, "gateways": 4, "bookings": 64, "searches": 48},
    "small": {"readings": 100_000, "gateways": 40, "bookings": 1_600, "searches": 800},
    "large": {"readings": 200_000, "gateways": 80, "bookings": 1_600, "searches": 800},
}
RESULTS = Path(settings.BASE_DIR) / "bench" / "results.csv"
# Industrial cities (lat, lon): providers cluster around them.
CITIES = [
    (31.2990, 120.5853),  # Suzhou
    (31.2304, 121.4737),  # Shanghai
    (22.5431, 114.0579),  # Shenzhen
    (23.0205, 113.7518),  # Dongguan
    (30.2741, 120.1551),  # Hangzhou
    (29.8683, 121.5440),  # Ningbo
    (36.0671, 120.3826),  # Qingdao
    (39.3434, 117.3616),  # Tianjin
    (30.5928, 114.3055),  # Wuhan
    (30.5728, 104.0668),  # Chengdu
]


class Command(BaseCommand):
    help = "Benchmark matching, ingestion, booking and search on a synthetic market in its own database."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--requests", type=int, default=300)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="Keep the <database>_bench database afterwards.")
        parser.add_argument(
            "--only",
            choices=PARTS,
            action="append",
            help="Measure only these parts (repeatable); all of them by default.",
        )
        parser.add_argument("--results", default=str(RESULTS), help=argparse.SUPPRESS)

    def handle(self, *args, scale: str, requests: int, seed: int, keep: bool, results: str, only=None, **options):
        parts = set(only or PARTS)
        default = settings.DATABASES["default"]
        if default["NAME"].endswith("_bench"):
            raise CommandError("The configured database looks like a benchmark database itself.")
        self.bench_db = bench_database_name(default)
        revision = _revision()  # the code measured: taken now, not when the run ends
        rng = random.Random(seed)
        now = timezone.now().replace(microsecond=0)
        self._recreate_database(default)
        try:
            self._register_alias(default)
            started = time.perf_counter()
            # The reference-data migration fills the benchmark database like any other.
            call_command("migrate", database=ALIAS, verbosity=0)
            self.stdout.write(f"migrated in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            counts = self._build_market(SCALES[scale], now, seed)
            self.stdout.write(
                f"market: {counts['resources']} resources, {counts['windows']} idle windows, "
                f"{counts['bookings']} bookings in {time.perf_counter() - started:.1f} s"
            )
            rows = self._run(rng, now, requests) if "matching" in parts else []
            rows += self._live(scale, default, rng, parts)
            if "invoices" in parts:
                rows += invoice_run.measure(ALIAS, scale, self.stdout)
        finally:
            connections[ALIAS].close()
            if not keep:
                self._drop_database(default)
        self._record(scale, rows, Path(results), revision)

    # --- database --------------------------------------------------------------------------

    def _server(self, default, dbname: str = "postgres"):
        return psycopg.connect(
            host=default["HOST"] or None,
            port=default["PORT"] or None,
            user=default["USER"] or None,
            password=default["PASSWORD"] or None,
            dbname=dbname,
            autocommit=True,
        )

    def _recreate_database(self, default):
        with self._server(default) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{self.bench_db}" WITH (FORCE)')
            server.execute(f'CREATE DATABASE "{self.bench_db}"')

    def _drop_database(self, default):
        with self._server(default) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{self.bench_db}" WITH (FORCE)')

    def _register_alias(self, default):
        databases = dict(settings.DATABASES)
        databases[ALIAS] = {**default, "NAME": self.bench_db, "CONN_MAX_AGE": 0}
        connections.settings[ALIAS] = connections.configure_settings(databases)[ALIAS]

    def _build_market(self, resources: int, now: datetime, seed: int) -> dict[str, int]:
        providers = max(1, resources // 5)
        midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        params = {"providers": providers, "resources": resources, "now": now, "midnight": midnight}
        lats = ",".join(str(c[0]) for c in CITIES)
        lons = ",".join(str(c[1]) for c in CITIES)
        statements = [
            ("SELECT setseed(%(seed)s)", {"seed": (seed % 1000) / 1000}),
            (
                """INSERT INTO marketplace_organisation (id, name, slug, kind, time_zone, currency, created_at)
                SELECT g, 'Bench provider ' || g, 'bench-' || g, 'provider', 'Asia/Shanghai', 'CNY', %(now)s
                FROM generate_series(1, %(providers)s) g""",
                params,
            ),
            (
                f"""INSERT INTO capacity_providerprofile (id, organisation_id, legal_name, province, city, address,
                    contact_name, contact_phone, contact_email, website, description, business_licence, status,
                    status_reason, created_at, updated_at, latitude, longitude, deposit_percent)
                SELECT g, g, 'Bench provider ' || g || ' Co., Ltd.', '', '', '', '', '', '', '', '', '',
                    CASE WHEN random() < 0.92 THEN 'verified' WHEN random() < 0.6 THEN 'pending' ELSE 'suspended' END,
                    '', %(now)s, %(now)s,
                    (ARRAY[{lats}])[c] + (random() - 0.5) * 0.6, (ARRAY[{lons}])[c] + (random() - 0.5) * 0.6, 0
                FROM (SELECT g, 1 + floor(random() * {len(CITIES)})::int AS c
                      FROM generate_series(1, %(providers)s) g) s""",
                params,
            ),
            (
                """INSERT INTO capacity_certification (standard, number, issuer, scope, valid_from, valid_until,
                    document, created_at, profile_id)
                SELECT s.standard, 'B' || p.id, 'CQC', '', DATE '2025-01-01',
                    CASE WHEN random() < 0.9 THEN DATE '2028-12-31' ELSE DATE '2025-06-30' END, '', %(now)s, p.id
                FROM capacity_providerprofile p
                CROSS JOIN (VALUES ('ISO9001', 0.6), ('IATF16949', 0.15), ('AS9100', 0.05), ('ISO17025', 0.2))
                    AS s(standard, share)
                WHERE random() < s.share""",
                params,
            ),
            # Resources: 85 % production, 10 % testing, 5 % metrology, spread over the minor categories.
            (
                """WITH minors AS (
                    SELECT c.id, c.kind, c.measurand,
                        row_number() OVER (PARTITION BY c.kind ORDER BY c.code) AS n,
                        count(*) OVER (PARTITION BY c.kind) AS total
                    FROM capacity_category c WHERE c.parent_id IS NOT NULL
                ), picks AS (
                    SELECT g, CASE WHEN u < 0.85 THEN 'production' WHEN u < 0.95 THEN 'testing' ELSE 'metrology' END
                        AS kind, random() AS v, random() AS x, random() AS y, random() AS z
                    FROM (SELECT g, random() AS u FROM generate_series(1, %(resources)s) g) s
                )
                INSERT INTO capacity_resource (id, provider_id, category_id, kind, name, make, model_name, description,
                    status, review_note, standards, range_unit, uncertainty, accreditation_ref, extra_specs,
                    envelope_x_mm, envelope_y_mm, envelope_z_mm, max_part_weight_kg, tolerance_mm,
                    measurand_id, range_min, range_max,
                    billing_unit, rate, setup_fee, minimum_charge, currency, billing_increment_minutes,
                    cycle_time_minutes, lead_time_buffer_hours, capacity, search_text, created_at, updated_at)
                SELECT p.g, 1 + (p.g - 1) %% %(providers)s, m.id, m.kind, 'Bench resource ' || p.g, '', '', '',
                    CASE WHEN random() < 0.9 THEN 'listed' WHEN random() < 0.5 THEN 'paused' ELSE 'draft' END,
                    '', '{}', '', '', '',
                    CASE WHEN random() < 0.3 THEN jsonb_build_object('setup_minutes', floor(random() * 90))
                         ELSE '{}'::jsonb END,
                    round((200 + p.x * 2800)::numeric, 0), round((200 + p.x * 2800 * (0.5 + p.y / 2))::numeric, 0),
                    round((150 + p.x * 2800 * (0.5 + p.y / 2) * (0.3 + p.z * 0.7))::numeric, 0),
                    round((20 + p.x * 3000)::numeric, 0),
                    (ARRAY[0.002, 0.005, 0.01, 0.01, 0.02, 0.05, 0.1])[1 + floor(random() * 7)::int],
                    (SELECT ms.id FROM capacity_measurand ms WHERE ms.code = m.measurand),
                    CASE WHEN m.measurand <> '' THEN 0 END,
                    CASE WHEN m.measurand <> '' THEN round((100 + random() * 5000)::numeric, 0) END,
                    CASE WHEN random() < 0.8 THEN 'machine_hour' ELSE 'part' END,
                    round((60 + random() * 540)::numeric, 2), round((random() * 800)::numeric, 0),
                    CASE WHEN random() < 0.6 THEN 0 ELSE round((200 + random() * 800)::numeric, 0) END, 'CNY',
                    (ARRAY[15, 30, 60])[1 + floor(random() * 3)::int],
                    CASE WHEN random() < 0.9 THEN round((5 + random() * 115)::numeric, 2) END,
                    floor(random() * 49)::int,
                    CASE WHEN random() < 0.95 THEN 1 ELSE 2 + floor(random() * 5)::int END,
                    '', %(now)s, %(now)s
                FROM picks p JOIN minors m ON m.kind = p.kind AND m.n = 1 + floor(p.v * m.total)::int""",
                params,
            ),
            (
                """INSERT INTO capacity_resource_materials (resource_id, material_id)
                SELECT r.id, pick.id FROM capacity_resource r CROSS JOIN LATERAL (
                    SELECT mt.id FROM capacity_material mt WHERE r.kind = 'production' ORDER BY random() LIMIT 3
                ) pick""",
                params,
            ),
            # Weekday idle windows for the next two weeks (10 per resource), in Shanghai local time:
            # start 08:00–12:00, 4–12 h long, never touching the next day's window.
            (
                """INSERT INTO capacity_idlewindow (resource_id, span)
                SELECT r.id, tstzrange(s.start, s.start + make_interval(mins => s.len), '[)')
                FROM capacity_resource r
                CROSS JOIN generate_series(0, 13) d
                CROSS JOIN LATERAL (
                    SELECT %(midnight)s::timestamptz + make_interval(days => d.d, hours => 8)
                        + make_interval(mins => (floor(random() * 16) * 15 + r.id * 0)::int) AS start,
                        (240 + floor(random() * 33) * 15)::int AS len
                ) s
                WHERE extract(isodow FROM %(midnight)s::timestamptz + make_interval(days => d.d)) < 6""",
                params,
            ),
            # A third of the windows carry a confirmed booking of their first 1–3 hours.
            (
                """INSERT INTO capacity_booking (resource_id, span, status, exclusive, created_at, updated_at)
                SELECT w.resource_id,
                    tstzrange(lower(w.span), lower(w.span) + make_interval(hours => 1 + floor(random() * 3)::int)),
                    'confirmed', r.capacity = 1, %(now)s, %(now)s
                FROM capacity_idlewindow w JOIN capacity_resource r ON r.id = w.resource_id
                WHERE random() < 0.33""",
                params,
            ),
            ("SELECT setval(pg_get_serial_sequence('capacity_resource', 'id'), %(resources)s)", params),
            # As autovacuum would have done on a live database: statistics and the visibility map
            # (index-only scans of idle windows and bookings).
            ("VACUUM (ANALYZE)", {}),
        ]
        with connections[ALIAS].cursor() as cursor:
            for sql, values in statements:
                cursor.execute(sql, values)
            cursor.execute(
                "SELECT (SELECT count(*) FROM capacity_resource), (SELECT count(*) FROM capacity_idlewindow),"
                " (SELECT count(*) FROM capacity_booking)"
            )
            resources_n, windows_n, bookings_n = cursor.fetchone()
        return {"resources": resources_n, "windows": windows_n, "bookings": bookings_n}

    # --- measurements ------------------------------------------------------------------------

    def _requests(self, rng: random.Random, now: datetime, count: int) -> list[MatchRequest]:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT c.code, c.kind, c.measurand FROM capacity_resource r"
                " JOIN capacity_category c ON c.id = r.category_id WHERE r.status = 'listed'"
                " ORDER BY random() LIMIT %s",
                [count],
            )
            categories = cursor.fetchall()
            cursor.execute("SELECT code FROM capacity_material")
            materials = [row[0] for row in cursor.fetchall()]
        requests = []
        for code, kind, measurand in categories:
            if rng.random() < 0.2:
                code = code[:3]  # a major category: any minor under it
            fields = {
                "category": code,
                "kind": kind,
                "quantity": rng.randint(1, 40),
                "now": now,
                "due": now + timedelta(days=rng.uniform(1.5, 12)),
                "delivery_lat": rng.choice(CITIES)[0],
                "delivery_lon": rng.choice(CITIES)[1],
            }
            if kind == "production":
                size = rng.uniform(50, 900)
                dims = sorted([size, size * rng.uniform(0.3, 1), size * rng.uniform(0.2, 1)], reverse=True)
                fields.update(
                    part_x_mm=Decimal(round(dims[0])),
                    part_y_mm=Decimal(round(dims[1])),
                    part_z_mm=Decimal(round(dims[2])),
                    weight_kg=Decimal(round(rng.uniform(0.5, 200), 1)),
                    tolerance_mm=rng.choice([Decimal("0.01"), Decimal("0.02"), Decimal("0.05"), Decimal("0.1")]),
                )
                if rng.random() < 0.5:
                    fields["material"] = rng.choice(materials)
                if rng.random() < 0.2:
                    fields["certifications"] = ("ISO9001",)
            elif measurand and len(code) > 3 and rng.random() < 0.7:
                low = Decimal(rng.randint(0, 50))
                fields.update(measurand=measurand, range_min=low, range_max=low + rng.randint(10, 3000))
            requests.append(MatchRequest(**fields))
        return requests

    def _baseline(self, request: MatchRequest) -> None:
        """The bare candidate query: category and envelope filters only, rows fetched."""
        ids = category_ids(request, ALIAS)
        sql = "SELECT r.id, r.rate FROM capacity_resource r WHERE r.category_id = ANY(%(ids)s) AND r.status = 'listed'"
        params: dict = {"ids": ids}
        dims = request.part_dims
        if dims is not None:
            least = "LEAST(r.envelope_x_mm, r.envelope_y_mm, r.envelope_z_mm)"
            greatest = "GREATEST(r.envelope_x_mm, r.envelope_y_mm, r.envelope_z_mm)"
            sql += (
                f" AND {least} >= %(d1)s AND {greatest} >= %(d3)s"
                f" AND r.envelope_x_mm + r.envelope_y_mm + r.envelope_z_mm - {least} - {greatest} >= %(d2)s"
            )
            params.update(d1=dims[0], d2=dims[1], d3=dims[2])
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    def _run(self, rng: random.Random, now: datetime, count: int) -> list[tuple[str, float, float | None]]:
        requests = self._requests(rng, now, count)
        for request in requests[:10]:  # warm caches and plans
            find_matches(request, using=ALIAS)
            self._baseline(request)
        match_ms, base_ms, found = [], [], 0
        for request in requests:
            started = time.perf_counter()
            result = find_matches(request, using=ALIAS)
            match_ms.append((time.perf_counter() - started) * 1000)
            found += bool(result.matches)
            started = time.perf_counter()
            self._baseline(request)
            base_ms.append((time.perf_counter() - started) * 1000)
        self.stdout.write(f"{len(requests)} requests, {found} with matches")
        rows: list[tuple[str, float, float | None]] = []
        for name, q in (("match_p50_ms", 50), ("match_p95_ms", 95)):
            value, base = _percentile(match_ms, q), _percentile(base_ms, q)
            rows.append((name, value, base))
            self.stdout.write(f"BENCH {name} {value:.2f} ms baseline={base:.2f} ratio={value / base:.2f}")

        ratios = []
        for _ in range(200):
            options, quantity = _split_instance(rng)
            optimum = brute_force(options, quantity)
            if optimum is None or optimum[0] == 0:
                continue
            quantities, _method = solve(options, quantity, method=MILP)
            ratios.append(float(allocation_cost(options, quantities) / optimum[0]))
        ratio = statistics.mean(ratios)
        rows.append(("split_cost_ratio", ratio, None))
        self.stdout.write(f"BENCH split_cost_ratio {ratio:.4f} max={max(ratios):.4f} instances={len(ratios)}")

        split_ms = []
        for request in requests[:40]:
            tight = MatchRequest(**{**request.__dict__, "quantity": request.quantity * 20})
            started = time.perf_counter()
            plan_split(tight, using=ALIAS)
            split_ms.append((time.perf_counter() - started) * 1000)
        value = _percentile(split_ms, 50)
        rows.append(("split_ms", value, None))
        self.stdout.write(f"BENCH split_ms {value:.2f} ms p95={_percentile(split_ms, 95):.2f}")
        return rows

    def _live(self, scale: str, default, rng: random.Random, parts) -> list[tuple[str, float, float | None]]:
        """Ingestion, catalogue search and booking, through a live server and the services running
        on the benchmark database (marketplace.benchmarks)."""
        sizes = LIVE[scale]
        env = bench_env(default, self.bench_db)
        figures: list[Figure] = []
        with tempfile.TemporaryDirectory() as workdir, LiveServer(env) as server:
            if "ingest" in parts:
                figures += ingest.run(alias=ALIAS, server=server, env=env, workdir=Path(workdir),
                                      readings=sizes["readings"], gateways=sizes["gateways"],
                                      out=self.stdout)  # fmt: skip
            if "search" in parts:
                figures += search.run(alias=ALIAS, server=server, count=sizes["searches"], rng=rng, out=self.stdout)
            if "booking" in parts:
                figures += booking.run(alias=ALIAS, env=env, workdir=Path(workdir), count=sizes["bookings"],
                                       rng=rng, connect=lambda: self._server(default, self.bench_db),
                                       out=self.stdout)  # fmt: skip
        for figure in figures:
            self.stdout.write(figure.line())
        return [(f.name, f.value, f.baseline) for f in figures]

    def _record(
        self, scale: str, rows: list[tuple[str, float, float | None]], path: Path = RESULTS, revision: str = ""
    ) -> None:
        path.parent.mkdir(exist_ok=True)
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["timestamp", "revision", "scale", "metric", "value", "baseline", "ratio"])
            stamp = timezone.now().isoformat(timespec="seconds")
            for name, value, base in rows:
                ratio = f"{value / base:.3f}" if base else ""
                baseline = "" if base is None else f"{base:.3f}"
                writer.writerow([stamp, revision, scale, name, f"{value:.3f}", baseline, ratio])
        self.stdout.write(f"appended to {path}")


def _revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            cwd=settings.BASE_DIR,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def bench_database_name(default: dict) -> str:
    """The benchmark's own database, named after the configured one so two checkouts never share it."""
    return f"{default['NAME']}_bench"


def _percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def _split_instance(rng: random.Random) -> tuple[list[SplitOption], int]:
    options = []
    for _ in range(rng.randint(2, 4)):
        card = RateCard(
            billing_unit=rng.choice(["machine_hour", "machine_hour", "part"]),
            rate=Decimal(rng.randint(500, 40000)) / 100,
            setup_fee=Decimal(rng.randint(0, 800)),
            minimum_charge=rng.choice([Decimal(0), Decimal(rng.randint(100, 3000))]),
            currency="CNY",
            billing_increment_minutes=rng.choice([15, 30, 60]),
        )
        options.append(SplitOption(card, Decimal(rng.randint(100, 9000)) / 100, Decimal(rng.randint(0, 60)),
                                   rng.randint(1, 6)))  # fmt: skip
    return options, rng.randint(1, sum(o.capacity for o in options))
