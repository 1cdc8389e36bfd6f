"""Demo telemetry: the demo CNC shop's machines report three days of counters.

Two devices of 苏州精工数控 (an edge gateway on two mills, a controller on a third) send a
reading every 5 minutes through the real ingestion service: run time accrues during two shifts
with idle gaps (tool changes, lunch, a set-up), parts count up, and the gateway reboots once
(a new boot id, counters restart from zero). One past shift is a completed booking, so its
usage and counter curve can be looked at. Idempotent: a device that already has readings is
left alone.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from capacity.models import Booking, Device, MeterReading, Resource
from capacity.services.metering import compute_booking_usage, record_readings, register_device
from marketplace.models import Membership, Organisation

PROVIDER_SLUG = "suzhou-jinggong"
STEP = timedelta(minutes=5)
DAYS = 3
SHIFTS = ((8, 12), (13, 17), (18, 22))  # local hours a machine may be cutting


def _running(moment: datetime, rng: random.Random) -> bool:
    local = moment.astimezone(ZoneInfo("Asia/Shanghai"))
    if not any(start <= local.hour < end for start, end in SHIFTS):
        return False
    return rng.random() > 0.15  # tool changes, measuring, waiting for material


def _series(resource_ids, start: datetime, end: datetime, rng: random.Random, reboot_at: datetime | None):
    """Cumulative counters every STEP for each resource; a reboot restarts them from zero."""
    readings = []
    for resource_id in resource_ids:
        run = parts = 0
        boot, seq = f"demo-{resource_id}-a", 0
        moment = start
        while moment <= end:
            if reboot_at is not None and moment >= reboot_at and boot.endswith("-a"):
                boot, seq, run, parts = f"demo-{resource_id}-b", 0, 0, 0
            if _running(moment, rng):
                run += int(STEP.total_seconds()) - rng.randint(0, 40)
                parts += rng.randint(1, 3)
            readings.append(
                {
                    "resource": resource_id,
                    "boot_id": boot,
                    "seq": seq,
                    "device_time": moment.isoformat(),
                    "run_seconds": run,
                    "part_count": parts,
                    "power_on_seconds": seq * int(STEP.total_seconds()),
                }
            )
            seq += 1
            moment += STEP
    return readings


def seed_metering(*, stdout=None, now: datetime | None = None) -> None:
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    provider = Organisation.objects.filter(slug=PROVIDER_SLUG).first()
    owner = (
        Membership.objects.filter(organisation=provider, role=Membership.Role.OWNER).select_related("user").first()
        if provider
        else None
    )
    mills = list(Resource.objects.filter(provider=provider, status=Resource.Status.LISTED).order_by("pk")[:3])
    if owner is None or len(mills) < 3:
        return
    rng = random.Random(2026)
    start = now - timedelta(days=DAYS)
    plan = [
        ("边缘网关 A（一号车间）", "gateway", mills[:2], start + timedelta(days=1, hours=3)),
        ("FANUC 控制器 · " + mills[2].name[:40], "controller", mills[2:], None),
    ]
    for name, kind, resources, reboot_at in plan:
        device = Device.objects.filter(provider=provider, name=name).first()
        if device is None:
            device, _secret = register_device(
                organisation=provider, user=owner.user, name=name, kind=kind, resources=resources, now=start
            )
        if MeterReading.objects.filter(device=device).exists():
            continue
        readings = _series([r.pk for r in resources], start, now, rng, reboot_at)
        for offset in range(0, len(readings), 2000):
            record_readings(device=device, readings=readings[offset : offset + 2000], now=now)

    # A completed booking over yesterday's day shift on the first mill: usage to look at.
    local_midnight = timezone.localtime(now).replace(hour=0, minute=0)
    shift = DateTimeTZRange(local_midnight - timedelta(hours=16), local_midnight - timedelta(hours=7), "[)")
    booking = Booking.objects.filter(
        resource=mills[0], status=Booking.Status.COMPLETED, trade_link__isnull=True
    ).first()
    if booking is None:
        booking = Booking.objects.create(
            resource=mills[0], span=shift, status=Booking.Status.COMPLETED, exclusive=mills[0].capacity == 1
        )
    compute_booking_usage(booking=booking, now=now)
    if stdout is not None:
        stdout.write(f"Metering: {MeterReading.objects.filter(device__provider=provider).count()} demo readings.")
