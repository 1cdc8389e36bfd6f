"""Metering writes: devices and their secrets, recording readings, usage per booking window,
job reports.

Ingestion is idempotent by construction: each reading has a natural key (device, boot_id, seq);
one set-based ``INSERT … ON CONFLICT DO NOTHING RETURNING`` stores the new ones in the same
transaction that decides the answer, so a replayed batch or a QoS 1 redelivery stores nothing
twice and is still acknowledged. Usage is re-derived from the immutable readings, never
accumulated (see capacity.selectors.metering).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from capacity.models import (
    Booking,
    BookingUsage,
    BookingUsageDay,
    Device,
    JobReport,
    JobReportEvent,
    MeterReading,
    Resource,
    UsageAdjustment,
    UsageSource,
)
from marketplace.crypto import encrypt
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import Membership, Organisation, User

MAX_BATCH = 5000
MAX_COUNTER = 10**12  # ~31,700 years of run seconds: anything above is a broken counter
MAX_SEQ = 2**63 - 1
FUTURE_TOLERANCE = timedelta(minutes=5)
OVERRUN_MARGIN = timedelta(hours=24)
READING_KEYS = {"resource", "boot_id", "seq", "device_time", "run_seconds", "part_count", "power_on_seconds", "alarm"}
USAGE_STATUSES = (Booking.Status.CONFIRMED, Booking.Status.COMPLETED)
MILLI = Decimal("0.001")

STORED, DUPLICATE, REJECTED = "stored", "duplicate", "rejected"


class BatchShapeError(DomainError):
    """The request is not the documented shape (HTTP 400); ``reasons`` lists what is wrong."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons), code="malformed")
        self.reasons = reasons


class ForeignResourceError(PermissionDeniedError):
    """The batch names a resource of another provider: refused whole (HTTP 403)."""


@dataclass(frozen=True)
class ReadingResult:
    index: int
    status: str
    reason: str = ""

    def as_dict(self) -> dict:
        return {"index": self.index, "status": self.status, "reason": self.reason}


# --- devices --------------------------------------------------------------------------------


def _require_owner(organisation: Organisation, user: User) -> None:
    if not Membership.objects.filter(organisation=organisation, user=user, role=Membership.Role.OWNER).exists():
        raise PermissionDeniedError(_("Only an owner of the organisation can do that."))


def _own_resources(organisation: Organisation, resources) -> list[Resource]:
    resources = list(resources)
    if any(r.provider_id != organisation.pk for r in resources):
        raise DomainError(_("A device can only be bound to your own resources."), code="foreign_resource")
    return resources


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def register_device(
    *, organisation: Organisation, user: User, name: str, kind: str, resources=(), now: datetime | None = None
) -> tuple[Device, str]:
    """Create a device bound to some of the provider's resources; returns it with its secret,
    which is shown once and from then on only kept encrypted."""
    _require_owner(organisation, user)
    if not organisation.is_provider:
        raise DomainError(_("Only providers register devices."), code="not_provider")
    name = name.strip()
    if not name:
        raise DomainError(_("Give the device a name."), code="name")
    resources = _own_resources(organisation, resources)
    secret = _new_secret()
    device = Device.objects.create(
        provider=organisation, name=name, kind=kind, secret_encrypted=encrypt(secret), secret_hint=secret[-4:]
    )
    if now is not None:
        Device.objects.filter(pk=device.pk).update(created_at=now)
    device.resources.set(resources)
    return device, secret


@transaction.atomic
def rotate_device_secret(*, device: Device, user: User, now: datetime | None = None) -> str:
    """Replace the secret at once: the old one stops working for the next request."""
    _require_owner(device.provider, user)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.is_revoked:
        raise DomainError(_("This device is revoked."), code="revoked")
    secret = _new_secret()
    device.secret_encrypted = encrypt(secret)
    device.secret_hint = secret[-4:]
    device.rotated_at = now or timezone.now()
    device.save(update_fields=["secret_encrypted", "secret_hint", "rotated_at"])
    return secret


@transaction.atomic
def revoke_device(*, device: Device, user: User, now: datetime | None = None) -> Device:
    """Stop accepting anything from the device. Its readings stay (they are the billing record)."""
    _require_owner(device.provider, user)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.is_revoked:
        raise DomainError(_("This device is already revoked."), code="revoked")
    device.revoked_at = now or timezone.now()
    device.save(update_fields=["revoked_at"])
    return device


@transaction.atomic
def bind_device_resources(*, device: Device, user: User, resources) -> Device:
    _require_owner(device.provider, user)
    if device.is_revoked:
        raise DomainError(_("This device is revoked."), code="revoked")
    device.resources.set(_own_resources(device.provider, resources))
    return device


# --- readings -------------------------------------------------------------------------------


def parse_batch(payload: Any) -> list[dict]:
    """Check the documented shape ``{"readings": [{…}, …]}``; raise BatchShapeError if it is not."""
    if not isinstance(payload, dict):
        raise BatchShapeError([_("The body must be a JSON object.")])
    readings = payload.get("readings")
    if not isinstance(readings, list):
        raise BatchShapeError([_('"readings" must be a list.')])
    reasons = []
    if not readings:
        reasons.append(_('"readings" is empty.'))
    if len(readings) > MAX_BATCH:
        reasons.append(_("At most %(max)s readings per request.") % {"max": MAX_BATCH})
    not_objects = [i for i, r in enumerate(readings) if not isinstance(r, dict)]
    if not_objects:
        reasons.append(
            _("Readings at positions %(positions)s are not JSON objects.")
            % {"positions": ", ".join(str(i) for i in not_objects[:20])}
        )
    if reasons:
        raise BatchShapeError(reasons)
    return readings


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_time(value) -> datetime | None:
    if _is_int(value) or isinstance(value, float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            return None
        if parsed is not None and timezone.is_aware(parsed):
            return parsed
    return None


def _validate(reading: dict, *, bound: set[int], now: datetime, oldest: datetime) -> tuple[dict | None, str]:
    """A clean row for the insert, or None and the reason (translated)."""
    unknown = set(reading) - READING_KEYS
    if unknown:
        return None, _("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
    resource = reading.get("resource")
    if not _is_int(resource):
        return None, _("resource must be the resource's id (an integer).")
    if resource not in bound:
        return None, _("Resource %(id)s is not bound to this device.") % {"id": resource}
    boot_id = reading.get("boot_id")
    if not isinstance(boot_id, str) or not boot_id.strip() or len(boot_id) > 64:
        return None, _("boot_id must be a non-empty text of at most 64 characters.")
    seq = reading.get("seq")
    if not _is_int(seq) or not 0 <= seq <= MAX_SEQ:
        return None, _("seq must be an integer ≥ 0.")
    device_time = _parse_time(reading.get("device_time"))
    if device_time is None:
        return None, _("device_time must be unix seconds or an ISO 8601 time with a UTC offset.")
    if device_time > now + FUTURE_TOLERANCE:
        return None, _("device_time is more than 5 minutes in the future.")
    if device_time < oldest:
        return None, _("device_time is older than the %(days)s-day late-data limit.") % {
            "days": settings.SPINDLE_READINGS_WATERMARK_DAYS
        }
    counters = {}
    for field in ("run_seconds", "part_count", "power_on_seconds"):
        value = reading.get(field)
        if value is None and field == "power_on_seconds":
            counters[field] = None
            continue
        if not _is_int(value) or not 0 <= value <= MAX_COUNTER:
            return None, _("%(field)s must be an integer between 0 and %(max)s.") % {
                "field": field,
                "max": MAX_COUNTER,
            }
        counters[field] = value
    alarm = reading.get("alarm", False)
    if not isinstance(alarm, bool):
        return None, _("alarm must be true or false.")
    return {
        "resource": resource,
        "boot_id": boot_id,
        "seq": seq,
        "device_time": device_time,
        **counters,
        "alarm": alarm,
    }, ""


def _insert(device: Device, rows: list[dict], received_at: datetime) -> set[tuple[str, int]]:
    """One statement for the whole batch; returns the keys actually stored."""
    table = MeterReading._meta.db_table
    sql = f"""
        INSERT INTO {table} (device_id, resource_id, boot_id, seq, device_time, received_at,
                             run_seconds, part_count, power_on_seconds, alarm)
        SELECT %s, u.r, u.b, u.s, u.t, %s, u.rs, u.pc, u.po, u.al
        FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::timestamptz[],
                    %s::bigint[], %s::bigint[], %s::bigint[], %s::boolean[]) AS u(r, b, s, t, rs, pc, po, al)
        ON CONFLICT (device_id, boot_id, seq) DO NOTHING
        RETURNING boot_id, seq
    """  # noqa: S608 — the table name is ours; every value is a parameter
    params = [
        device.pk,
        received_at,
        [r["resource"] for r in rows],
        [r["boot_id"] for r in rows],
        [r["seq"] for r in rows],
        [r["device_time"] for r in rows],
        [r["run_seconds"] for r in rows],
        [r["part_count"] for r in rows],
        [r["power_on_seconds"] for r in rows],
        [r["alarm"] for r in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(boot_id, seq) for boot_id, seq in cursor.fetchall()}


def record_readings(*, device: Device, readings: list[dict], now: datetime | None = None) -> list[ReadingResult]:
    """Validate and store a batch of readings from ``device``; one result per reading, in order.

    ``stored``: new; ``duplicate``: already known (accepted, changes nothing); ``rejected``: reported
    with a reason and stored nowhere. A reading naming another provider's resource refuses the
    whole batch (ForeignResourceError) before anything is stored.
    """
    now = now or timezone.now()
    if device.is_revoked:
        raise PermissionDeniedError(_("This device is revoked."), code="revoked")
    bound = set(device.resources.values_list("pk", flat=True))
    named = {r.get("resource") for r in readings if _is_int(r.get("resource"))} - bound
    if named and Resource.objects.filter(pk__in=named).exclude(provider_id=device.provider_id).exists():
        raise ForeignResourceError(_("The batch names a resource of another provider."), code="foreign_resource")

    oldest = now - timedelta(days=settings.SPINDLE_READINGS_WATERMARK_DAYS)
    results: list[ReadingResult | None] = [None] * len(readings)
    rows: list[dict] = []
    row_index: dict[tuple[str, int], int] = {}
    for index, reading in enumerate(readings):
        row, reason = _validate(reading, bound=bound, now=now, oldest=oldest)
        if row is None:
            results[index] = ReadingResult(index, REJECTED, reason)
            continue
        key = (row["boot_id"], row["seq"])
        if key in row_index:  # repeated inside the batch: the first one is the one stored
            results[index] = ReadingResult(index, DUPLICATE)
            continue
        row_index[key] = index
        rows.append(row)

    with transaction.atomic():
        stored = _insert(device, rows, now) if rows else set()
        update = {"last_seen_at": now}
        if rows:
            newest = max(r["device_time"] for r in rows)
            update["last_clock_skew_s"] = round((now - newest).total_seconds())
        Device.objects.filter(pk=device.pk).update(**update)
        for field, value in update.items():
            setattr(device, field, value)
        new_rows = [r for r in rows if (r["boot_id"], r["seq"]) in stored]
        _recompute_on_commit(new_rows, received_at=now)

    for key, index in row_index.items():
        results[index] = ReadingResult(index, STORED if key in stored else DUPLICATE)
    return results  # type: ignore[return-value]


def _recompute_on_commit(rows: list[dict], *, received_at: datetime) -> None:
    """New readings may change usage of bookings around them: re-derive it after commit."""
    from capacity.tasks import recompute_usage_near

    spans: dict[int, tuple[datetime, datetime]] = {}
    for r in rows:
        lo, hi = spans.get(r["resource"], (r["device_time"], r["device_time"]))
        spans[r["resource"]] = (min(lo, r["device_time"]), max(hi, r["device_time"]))
    for resource_id, (lo, hi) in spans.items():
        transaction.on_commit(
            lambda resource_id=resource_id, lo=lo, hi=hi: recompute_usage_near.delay(
                resource_id, lo.isoformat(), hi.isoformat(), received_at.isoformat()
            )
        )


def summarise(results: list[ReadingResult]) -> dict:
    return {
        "results": [r.as_dict() for r in results],
        "stored": sum(r.status == STORED for r in results),
        "duplicates": sum(r.status == DUPLICATE for r in results),
        "rejected": sum(r.status == REJECTED for r in results),
    }


# --- usage ----------------------------------------------------------------------------------


def _decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(MILLI, rounding=ROUND_HALF_EVEN)


def usage_final_at(booking: Booking) -> datetime | None:
    """When a booking's usage stops changing silently: its window's end + 48 h, or later where
    the finality hook says so (settings.SPINDLE_USAGE_FINALITY, a dotted path called with the
    booking and that default; the trade domain makes it the later of that and the trade's
    completion). None: not known yet (the trade is still running). A hook rather than an
    import keeps the supply app free of the trade domain."""
    default = booking.span.upper + timedelta(hours=settings.SPINDLE_USAGE_FINAL_AFTER_HOURS)
    hook = getattr(settings, "SPINDLE_USAGE_FINALITY", "")
    return import_string(hook)(booking=booking, default=default) if hook else default


def _is_final(booking: Booking, now: datetime) -> bool:
    final_at = usage_final_at(booking)
    return final_at is not None and now >= final_at


def compute_booking_usage(*, booking: Booking, now: datetime | None = None) -> BookingUsage:
    """Re-derive the booking's usage. Before finality the row is recomputed in place; after it, a
    difference is recorded as a UsageAdjustment and the final row is left as it was."""
    from capacity.selectors.metering import window_usage

    now = now or timezone.now()
    with transaction.atomic():
        # Lock the booking: concurrent recomputations (two batches landing at once) serialise here.
        booking = Booking.objects.select_for_update().select_related("resource__provider").get(pk=booking.pk)
        measured = window_usage(booking, zone=_provider_zone(booking))
        source = UsageSource.TELEMETRY
        values = {
            "run_seconds": _decimal(measured.run_seconds),
            "parts": _decimal(measured.parts),
            "overrun_run_seconds": _decimal(measured.overrun_run_seconds),
            "overrun_parts": _decimal(measured.overrun_parts),
        }
        if not measured.has_readings:
            report = booking.job_reports.filter(status=JobReport.Status.CONFIRMED).first()
            if report is not None:
                source = UsageSource.JOB_REPORT
                values = {
                    "run_seconds": Decimal(report.run_seconds).quantize(MILLI),
                    "parts": Decimal(report.parts).quantize(MILLI),
                    "overrun_run_seconds": Decimal("0.000"),
                    "overrun_parts": Decimal("0.000"),
                }
        usage = BookingUsage.objects.filter(booking=booking).first()
        if usage is not None and usage.final:
            _adjust_final(usage, values, now=now, source=source)
            return usage
        final = _is_final(booking, now)
        fields = {
            **values,
            "readings_count": measured.readings_count,
            "source": source,
            "computed_at": now,
            "final": final,
            "finalised_at": now if final else None,
        }
        usage, _created = BookingUsage.objects.update_or_create(booking=booking, defaults=fields)
        _store_days(booking, measured.days if source == UsageSource.TELEMETRY else {}, now=now)
        return usage


def _provider_zone(booking: Booking) -> ZoneInfo:
    try:
        return ZoneInfo(booking.resource.provider.time_zone)
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _store_days(booking: Booking, days: dict, *, now: datetime) -> None:
    """Replace the booking's daily rollup (same transaction, booking locked): days that no longer
    carry usage disappear, the others are rewritten with the re-derived values."""
    BookingUsageDay.objects.filter(booking=booking).exclude(day__in=list(days)).delete()
    BookingUsageDay.objects.bulk_create(
        [
            BookingUsageDay(booking=booking, day=day, run_seconds=_decimal(run), parts=_decimal(parts), computed_at=now)
            for day, (run, parts) in days.items()
        ],
        update_conflicts=True,
        unique_fields=["booking", "day"],
        update_fields=["run_seconds", "parts", "computed_at"],
    )


def _adjust_final(usage: BookingUsage, values: dict, *, now: datetime, source: str) -> None:
    adjusted = {
        key: getattr(usage, key) + sum((getattr(a, key) for a in usage.booking.usage_adjustments.all()), Decimal(0))
        for key in ("run_seconds", "parts", "overrun_run_seconds")
    }
    delta = {key: values[key] - adjusted[key] for key in adjusted}
    if not any(delta.values()):
        return
    reason = (
        _("Late telemetry after usage was final")
        if source == UsageSource.TELEMETRY
        else _("Job report confirmed after usage was final")
    )
    UsageAdjustment.objects.create(booking=usage.booking, reason=reason, created_at=now, **delta)


def recompute_usage_for_span(*, resource_id: int, start: datetime, end: datetime, now: datetime | None = None) -> int:
    """Recompute every booking whose window or overrun margin touches ``[start, end]``."""
    bookings = Booking.objects.filter(
        resource_id=resource_id,
        status__in=USAGE_STATUSES,
        span__overlap=(start - OVERRUN_MARGIN, end + OVERRUN_MARGIN + timedelta(microseconds=1)),
    ).order_by("pk")
    count = 0
    for booking in bookings:
        compute_booking_usage(booking=booking, now=now)
        count += 1
    return count


def finalise_due_usage(*, now: datetime | None = None) -> int:
    """Make usage final for bookings whose finality time has passed (a periodic job). The window
    end + 48 h narrows the candidates; the finality hook decides for each."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SPINDLE_USAGE_FINAL_AFTER_HOURS)
    due = (
        Booking.objects.filter(status__in=USAGE_STATUSES, span__endswith__lte=cutoff)
        .exclude(usage__final=True)
        .order_by("pk")
    )
    count = 0
    for booking in due:
        if not _is_final(booking, now):
            continue
        compute_booking_usage(booking=booking, now=now)
        count += 1
    return count


# --- job reports (machines without telemetry) -----------------------------------------------


def _membership(organisation_id: int, user: User) -> Membership | None:
    return Membership.objects.filter(organisation_id=organisation_id, user=user).first()


def _transition(report: JobReport, to: str, *, user: User, organisation: Organisation, note: str, now) -> None:
    if to not in JobReport.TRANSITIONS[JobReport.Status(report.status)]:
        raise DomainError(
            _("A %(status)s job report cannot be changed.") % {"status": report.get_status_display()},
            code="transition",
        )
    JobReportEvent.objects.create(
        report=report, from_status=report.status, to_status=to, by=user, organisation=organisation, note=note,
        created_at=now,
    )  # fmt: skip
    report.status = to
    report.save(update_fields=["status"])


@transaction.atomic
def submit_job_report(
    *,
    booking: Booking,
    user: User,
    run_seconds: int,
    parts: int,
    evidence=None,
    note: str = "",
    now: datetime | None = None,
) -> JobReport:
    """The provider reports run time and parts for a booking on a machine without telemetry."""
    now = now or timezone.now()
    booking = Booking.objects.select_for_update().select_related("resource").get(pk=booking.pk)
    membership = _membership(booking.resource.provider_id, user)
    if membership is None:
        raise PermissionDeniedError(_("Only the provider reports usage for its bookings."))
    if booking.status not in USAGE_STATUSES:
        raise DomainError(_("Usage can only be reported for confirmed or completed bookings."), code="status")
    if not (_is_int(run_seconds) and _is_int(parts)) or run_seconds < 0 or parts < 0:
        raise DomainError(_("Run time and parts must be whole numbers ≥ 0."), code="values")
    if run_seconds > (booking.span.upper - booking.span.lower).total_seconds() + OVERRUN_MARGIN.total_seconds() * 2:
        raise DomainError(_("The reported run time is longer than the booking and its margins."), code="values")
    if booking.job_reports.exclude(status=JobReport.Status.DISPUTED).exists():
        raise DomainError(_("This booking already has a job report."), code="duplicate")
    report = JobReport.objects.create(
        booking=booking, reported_by=user, run_seconds=run_seconds, parts=parts, note=note, created_at=now
    )
    if evidence is not None:
        report.evidence.save(evidence.name, evidence, save=True)
    JobReportEvent.objects.create(
        report=report, to_status=report.status, by=user, organisation=membership.organisation, created_at=now
    )
    return report


def _counterparty(report: JobReport, user: User, organisation: Organisation) -> None:
    # Until trades land, any organisation other than the provider that the user belongs to may answer.
    if organisation.pk == report.booking.resource.provider_id or _membership(organisation.pk, user) is None:
        raise PermissionDeniedError(_("Only the buyer can confirm or dispute a job report."))


@transaction.atomic
def confirm_job_report(
    *, report: JobReport, user: User, organisation: Organisation, now: datetime | None = None
) -> JobReport:
    now = now or timezone.now()
    report = JobReport.objects.select_for_update().select_related("booking__resource").get(pk=report.pk)
    _counterparty(report, user, organisation)
    _transition(report, JobReport.Status.CONFIRMED, user=user, organisation=organisation, note="", now=now)
    compute_booking_usage(booking=report.booking, now=now)
    return report


@transaction.atomic
def dispute_job_report(
    *, report: JobReport, user: User, organisation: Organisation, reason: str, now: datetime | None = None
) -> JobReport:
    now = now or timezone.now()
    report = JobReport.objects.select_for_update().select_related("booking__resource").get(pk=report.pk)
    _counterparty(report, user, organisation)
    if not reason.strip():
        raise DomainError(_("Say why you dispute the report."), code="reason")
    _transition(report, JobReport.Status.DISPUTED, user=user, organisation=organisation, note=reason.strip(), now=now)
    return report
