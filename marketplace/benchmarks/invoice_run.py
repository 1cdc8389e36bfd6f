"""``invoice_run_s``: the month-end period invoicing run (billing.services.periods) for N devices
× 30 days of readings, in the benchmark database built by ``manage.py bench``.

Set-based generation (``INSERT … SELECT generate_series``), no Python loops: N long rentals (one
device, one resource, one booking 1 Sep – 5 Oct 2030 Shanghai each, so every one crosses the
month boundary), a reading every 15 minutes for the 30 days of September per device (small:
1,000 devices = 2.88 M readings; large: 10,000 = 28.8 M), and the daily usage rollup derived
from those readings the way metering keeps it (per booking and local day, counter increments
by device time), so the run reads the rollup and never the raw readings.

Timed: ``run_period_invoicing`` for September as the beat would call it — N period invoices
claimed, priced, numbered, posted to the ledger, announced (webhooks, notifications) and their
e-mails enqueued, a batch of trades per transaction (in a warm process: URL configuration
loaded). Baseline, timed in the same run: the single SQL aggregate of the same derived
usage per trade (what any invoicing must at least read). Target (issue #11): ≤ 60 s for 10,000
devices.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connections
from django.urls import reverse

SCALES = {"tiny": 20, "small": 1_000, "large": 10_000}  # tiny: the smoke test's
SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = date(2030, 9, 1)
RUN_AT = datetime(2030, 10, 1, 3, 5, tzinfo=SHANGHAI)
BOOKING = (datetime(2030, 9, 1, tzinfo=SHANGHAI), datetime(2030, 10, 5, tzinfo=SHANGHAI))


def measure(alias: str, scale: str, stdout) -> list[tuple[str, float, float | None]]:
    devices = SCALES[scale]
    started = time.perf_counter()
    readings = _build(alias, devices)
    stdout.write(
        f"invoice run: {devices} devices, {readings} readings, rollup derived in {time.perf_counter() - started:.1f} s"
    )
    baseline = _baseline(alias)
    reverse("billing:home")  # load the URL configuration, as a running worker has it loaded
    with _as_default(alias), _tasks_enqueued():
        from billing.services.periods import run_period_invoicing

        started = time.perf_counter()
        run = run_period_invoicing(period_start=PERIOD, now=RUN_AT)
        value = time.perf_counter() - started
    if run.invoiced != devices:
        raise RuntimeError(f"the run invoiced {run.invoiced} of {devices} trades ({run.status})")
    stdout.write(f"BENCH invoice_run_s {value:.2f} s baseline={baseline:.3f} ratio={value / baseline:.1f}")
    return [("invoice_run_s", value, baseline)]


def _baseline(alias: str) -> float:
    """The bare aggregate of the derived usage per trade up to the period's end, rows fetched."""
    sql = """SELECT tb.trade_id, sum(d.run_seconds) FROM capacity_bookingusageday d
             JOIN marketplace_tradebooking tb ON tb.booking_id = d.booking_id
             WHERE d.day < %s GROUP BY tb.trade_id"""
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [date(2030, 10, 1)])  # warm
        cursor.fetchall()
        started = time.perf_counter()
        cursor.execute(sql, [date(2030, 10, 1)])
        cursor.fetchall()
        return time.perf_counter() - started


@contextmanager
def _as_default(alias: str):
    """The services use the default database: point it at the benchmark database meanwhile."""
    saved = connections.settings["default"]
    connections["default"].close()
    connections.settings["default"] = connections.settings[alias]
    del connections["default"]
    try:
        yield
    finally:
        connections["default"].close()
        connections.settings["default"] = saved
        del connections["default"]


@contextmanager
def _tasks_enqueued():
    """Enqueue the invoice e-mails (in memory) as a worker deployment would, instead of rendering
    PDFs eagerly inside the timed run."""
    from marketplace.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = saved


def _build(alias: str, devices: int) -> int:
    params = {"n": devices, "start": BOOKING[0], "end": BOOKING[1], "now": RUN_AT, "sep": PERIOD}
    statements = [
        # One buyer and one order for all the rentals (trades of one order, one slice each).
        """INSERT INTO marketplace_organisation (id, name, slug, kind, time_zone, currency, created_at)
           SELECT max(id) + 1, 'Bench buyer', 'bench-buyer', 'buyer', 'Asia/Shanghai', 'CNY', %(now)s
           FROM marketplace_organisation""",
        """INSERT INTO marketplace_order (status, kind, title, description, material_note, quantity,
               billing_preference, material_supply, certifications, range_unit, province, city, address, currency,
               nda_required, nda_text, created_at, updated_at, buyer_id, category_id)
           SELECT 'awarded', 'production', 'Bench rental', '', '', %(n)s, 'machine_hour', 'provider', '{}', '', '',
               '', '', 'CNY', false, '', %(now)s, %(now)s, (SELECT id FROM marketplace_organisation
               WHERE slug = 'bench-buyer'), (SELECT id FROM capacity_category WHERE parent_id IS NOT NULL
               AND kind = 'production' ORDER BY code LIMIT 1)""",
        """CREATE TEMP TABLE bench_rental AS
           SELECT g AS n, r.id AS resource_id, r.provider_id
           FROM generate_series(1, %(n)s) g JOIN capacity_resource r ON r.id = g""",
        """INSERT INTO capacity_device (name, kind, secret_encrypted, secret_hint, created_at, provider_id)
           SELECT 'Bench device ' || n, 'gateway', '', '', %(now)s, provider_id FROM bench_rental ORDER BY n""",
        """ALTER TABLE bench_rental ADD COLUMN device_id bigint, ADD COLUMN booking_id bigint,
               ADD COLUMN trade_id bigint""",
        """UPDATE bench_rental b SET device_id = d.id FROM capacity_device d WHERE d.name = 'Bench device ' || b.n""",
        """INSERT INTO capacity_device_resources (device_id, resource_id) SELECT device_id, resource_id
           FROM bench_rental""",
        # Bookings are not exclusive here: the market's own bookings may overlap September.
        """INSERT INTO capacity_booking (resource_id, span, status, exclusive, created_at, updated_at)
           SELECT resource_id, tstzrange(%(start)s, %(end)s, '[)'), 'confirmed', false, %(now)s, %(now)s
           FROM bench_rental ORDER BY n""",
        """UPDATE bench_rental b SET booking_id = k.id FROM capacity_booking k
           WHERE k.resource_id = b.resource_id AND k.span = tstzrange(%(start)s, %(end)s, '[)')""",
        """INSERT INTO marketplace_trade (origin, status, kind, currency, quantity, billing_unit, rate, setup_fee,
               minimum_charge, billing_increment_minutes, increment_rounding, vat_rate, commission_rate,
               commission_min, commission_max, material_amount, freight_amount, price_estimate, terms,
               free_cancellation_until, cancellation_fee_percent, carrier, tracking_number, rejection_reasons,
               inspection_report, inspection_report_name, inspection_report_type, created_at, updated_at,
               buyer_id, order_id, provider_id, created_by_id)
           SELECT 'booking', 'in_production', 'production', 'CNY', 1, 'machine_hour', r.rate, r.setup_fee, 0,
               r.billing_increment_minutes, 'ceiling', 0.13, 0.05, 10.00, 5000.00, 0, 0, 0,
               jsonb_build_object('bench', b.n), %(start)s, 20, '', '', '', '', '', '', %(now)s, %(now)s,
               o.buyer_id, o.id, b.provider_id, NULL
           FROM bench_rental b JOIN capacity_resource r ON r.id = b.resource_id
           CROSS JOIN (SELECT id, buyer_id FROM marketplace_order WHERE title = 'Bench rental') o ORDER BY b.n""",
        """UPDATE bench_rental b SET trade_id = t.id FROM marketplace_trade t
           WHERE t.terms = jsonb_build_object('bench', b.n)""",
        """INSERT INTO marketplace_tradebooking (quantity, price, rate_card, created_at, booking_id, order_id,
               resource_id, trade_id)
           SELECT 1, '{}', '{}', %(now)s, b.booking_id, t.order_id, b.resource_id, b.trade_id
           FROM bench_rental b JOIN marketplace_trade t ON t.id = b.trade_id""",
        # Bulk load of throwaway data: the readings table unlogged and foreign-key triggers off
        # (the rows are consistent by construction) while it is filled; both restored after.
        "ALTER TABLE capacity_meterreading SET UNLOGGED",
        # The timed run never reads the raw readings: keep autovacuum of the freshly loaded
        # table (28.8 M rows at large scale) from competing with it.
        "ALTER TABLE capacity_meterreading SET (autovacuum_enabled = false)",
        "SET session_replication_role = replica",
        # A reading every 15 minutes for September; the machine runs 10 minutes of each quarter hour.
        """INSERT INTO capacity_meterreading (device_id, resource_id, boot_id, seq, device_time, received_at,
               run_seconds, part_count, power_on_seconds, alarm)
           SELECT b.device_id, b.resource_id, 'boot-1', q, %(start)s + q * interval '15 minutes',
               %(start)s + q * interval '15 minutes' + interval '5 seconds',
               q * 600 + (b.n %% 300), q / 4, NULL, false
           FROM bench_rental b CROSS JOIN generate_series(0, 30 * 96 - 1) q""",
        "SET session_replication_role = DEFAULT",
        "SET work_mem = '256MB'",  # the rollup sorts every reading by device and time
        # The daily rollup as metering derives it: counter increments between consecutive readings
        # of a device, on the local day their segment lies in, inside the booking window.
        """INSERT INTO capacity_bookingusageday (booking_id, day, run_seconds, parts, computed_at)
           SELECT b.booking_id, (s.previous AT TIME ZONE 'Asia/Shanghai')::date, sum(s.run_seconds - s.previous_run),
               sum(s.part_count - s.previous_parts), %(now)s
           FROM (SELECT device_id, device_time, run_seconds, part_count,
                        lag(device_time) OVER w AS previous, lag(run_seconds) OVER w AS previous_run,
                        lag(part_count) OVER w AS previous_parts
                 FROM capacity_meterreading WHERE boot_id = 'boot-1' AND device_time >= %(start)s
                 WINDOW w AS (PARTITION BY device_id ORDER BY device_time, seq)) s
           JOIN bench_rental b ON b.device_id = s.device_id
           WHERE s.previous IS NOT NULL
           GROUP BY b.booking_id, (s.previous AT TIME ZONE 'Asia/Shanghai')::date""",
        "RESET work_mem",
        "ANALYZE",
        "CHECKPOINT",  # flush the load's dirty pages now, not during the timed run
    ]
    with connections[alias].cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, params)
        cursor.execute("SELECT count(*) FROM capacity_meterreading")
        return cursor.fetchone()[0]
