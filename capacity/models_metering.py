"""Metering: devices that report machine counters, the readings they send, and the usage derived
from them per booking window.

Readings are raw and immutable (a database trigger refuses UPDATE and DELETE); usage is *derived*
from them by re-aggregation and stored per booking in ``BookingUsage``. Once a booking's usage is
final, late data never edit it: they add a ``UsageAdjustment`` row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.crypto import decrypt
from marketplace.models import Organisation


def job_report_upload_to(instance, filename: str) -> str:
    from capacity.models import _private_path

    return _private_path("job-reports", filename)


class Device(models.Model):
    """An edge gateway or machine controller that sends counters for the provider's resources.

    It signs what it sends with a shared secret; the server must read that secret back to check
    signatures, so it is stored encrypted (Fernet), never hashed, and shown to a person only once.
    """

    class Kind(models.TextChoices):
        GATEWAY = "gateway", _("Edge gateway")
        CONTROLLER = "controller", _("Machine controller")

    provider = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.GATEWAY)
    resources = models.ManyToManyField(
        "capacity.Resource", blank=True, related_name="devices", verbose_name=_("resources")
    )
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(_("secret ends with"), max_length=4, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_clock_skew_s = models.IntegerField(
        _("clock skew (s)"), null=True, blank=True, help_text=_("Arrival time minus device time of its newest reading.")
    )

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret(self) -> str:
        return decrypt(self.secret_encrypted)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def clock_skew_warning(self) -> bool:
        return self.last_clock_skew_s is not None and abs(self.last_clock_skew_s) > settings.SPINDLE_CLOCK_SKEW_WARN_S


class MeterReading(models.Model):
    """One counter sample sent by a device for a resource. Stored once per (device, boot, seq).

    Counters are cumulative since the device's boot ``boot_id``: usage is the difference between
    readings, so a lost message loses nothing and a repeated one counts nothing.
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="readings")
    resource = models.ForeignKey("capacity.Resource", on_delete=models.PROTECT, related_name="readings")
    boot_id = models.CharField(max_length=64)
    seq = models.BigIntegerField()
    device_time = models.DateTimeField()
    received_at = models.DateTimeField()
    run_seconds = models.BigIntegerField()
    part_count = models.BigIntegerField()
    power_on_seconds = models.BigIntegerField(null=True, blank=True)
    alarm = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("meter reading")
        verbose_name_plural = _("meter readings")
        constraints = [
            models.UniqueConstraint(fields=["device", "boot_id", "seq"], name="meterreading_once"),
            models.CheckConstraint(
                condition=Q(seq__gte=0, run_seconds__gte=0, part_count__gte=0)
                & (Q(power_on_seconds__isnull=True) | Q(power_on_seconds__gte=0)),
                name="meterreading_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["resource", "device_time"], name="meterreading_resource_time"),
            models.Index(fields=["device", "device_time"], name="meterreading_device_time"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}/{self.boot_id}/{self.seq}"


class UsageSource(models.TextChoices):
    TELEMETRY = "telemetry", _("Telemetry")
    JOB_REPORT = "job_report", _("Job report")


class BookingUsage(models.Model):
    """Usage derived for one booking window (a trade's usage is the sum over its bookings).

    Recomputed from readings until it is final; afterwards late data add UsageAdjustment rows.
    Values are decimals: an increment straddling a window edge is split linearly by device time.
    """

    booking = models.OneToOneField("capacity.Booking", on_delete=models.PROTECT, related_name="usage")
    run_seconds = models.DecimalField(_("run time (s)"), max_digits=14, decimal_places=3, default=0)
    parts = models.DecimalField(_("parts"), max_digits=14, decimal_places=3, default=0)
    overrun_run_seconds = models.DecimalField(_("overrun (s)"), max_digits=14, decimal_places=3, default=0)
    overrun_parts = models.DecimalField(_("parts outside the window"), max_digits=14, decimal_places=3, default=0)
    readings_count = models.PositiveIntegerField(default=0)
    source = models.CharField(_("source"), max_length=12, choices=UsageSource.choices, default=UsageSource.TELEMETRY)
    computed_at = models.DateTimeField(_("computed"))
    final = models.BooleanField(_("final"), default=False)
    finalised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("booking usage")
        verbose_name_plural = _("booking usage")

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.run_seconds}s, {self.parts} parts"


class BookingUsageDay(models.Model):
    """The booking's in-window usage split by the provider's local calendar day: a rollup kept
    beside BookingUsage whenever it is re-derived, so a month-end invoicing run sums a few rows
    per booking instead of rescanning raw readings. Days follow the provider's time zone, so a
    month in the rollup is the month on the provider's invoice."""

    booking = models.ForeignKey("capacity.Booking", on_delete=models.PROTECT, related_name="usage_days")
    day = models.DateField(_("day"))
    run_seconds = models.DecimalField(_("run time (s)"), max_digits=14, decimal_places=3, default=0)
    parts = models.DecimalField(_("parts"), max_digits=14, decimal_places=3, default=0)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("daily booking usage")
        verbose_name_plural = _("daily booking usage")
        ordering = ["booking", "day"]
        constraints = [models.UniqueConstraint(fields=["booking", "day"], name="bookingusageday_unique")]

    def __str__(self) -> str:
        return f"{self.booking_id} {self.day}: {self.run_seconds}s"


class UsageAdjustment(models.Model):
    """A correction to final usage (late data, a job report confirmed after finality). Append-only."""

    booking = models.ForeignKey("capacity.Booking", on_delete=models.PROTECT, related_name="usage_adjustments")
    run_seconds = models.DecimalField(_("run time change (s)"), max_digits=14, decimal_places=3)
    parts = models.DecimalField(_("parts change"), max_digits=14, decimal_places=3)
    overrun_run_seconds = models.DecimalField(_("overrun change (s)"), max_digits=14, decimal_places=3, default=0)
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("usage adjustment")
        verbose_name_plural = _("usage adjustments")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.run_seconds:+}s ({self.reason})"


class JobReport(models.Model):
    """Usage reported by the provider for a machine without telemetry, with evidence."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        CONFIRMED = "confirmed", _("Confirmed")
        DISPUTED = "disputed", _("Disputed")

    TRANSITIONS = {
        Status.SUBMITTED: {Status.CONFIRMED, Status.DISPUTED},
        Status.DISPUTED: set(),
        Status.CONFIRMED: set(),
    }

    booking = models.ForeignKey("capacity.Booking", on_delete=models.PROTECT, related_name="job_reports")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    run_seconds = models.PositiveIntegerField(_("run time (s)"))
    parts = models.PositiveIntegerField(_("parts"))
    evidence = models.FileField(_("evidence"), upload_to=job_report_upload_to, blank=True)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("job report")
        verbose_name_plural = _("job reports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # At most one live (submitted or confirmed) report per booking; a disputed one may be replaced.
            models.UniqueConstraint(
                fields=["booking"], condition=Q(status__in=["submitted", "confirmed"]), name="jobreport_one_live"
            )
        ]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.run_seconds}s, {self.parts} parts ({self.status})"


class JobReportEvent(models.Model):
    """Who moved a job report from which status to which, when and why."""

    report = models.ForeignKey(JobReport, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.from_status or '-'} → {self.to_status}"
