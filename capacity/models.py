"""Supply: providers, the capability taxonomy, listed resources and when they are free.

Free capacity is *derived*: a resource's idle windows (materialised from its weekly pattern
and dated exceptions) minus its active bookings. Intervals are half-open ``[start, end)``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from capacity.validators import validate_credit_code
from marketplace.models import Organisation


class LocalisedNameMixin:
    """``name`` in the active language (Chinese unless English is active)."""

    @property
    def name(self) -> str:
        language = (get_language() or "zh-hans").lower()
        return self.name_en if language.startswith("en") else self.name_zh


class Category(LocalisedNameMixin, models.Model):
    """A node of the two-level capability taxonomy: kind → major → minor (modelled on INDICS)."""

    class Kind(models.TextChoices):
        PRODUCTION = "production", _("Production")
        TESTING = "testing", _("Testing")
        METROLOGY = "metrology", _("Metrology and calibration")

    code = models.CharField(_("code"), max_length=16, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150)
    attributes = ArrayField(
        models.CharField(max_length=50), default=list, blank=True, verbose_name=_("spec attributes")
    )
    measurand = models.CharField(_("main measurand"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_major(self) -> bool:
        return self.parent_id is None


class SpecAttribute(models.Model):
    """A spec a resource can carry. ``typed`` ones are indexed Resource columns (filterable);
    the others live in ``Resource.extra_specs``."""

    class Type(models.TextChoices):
        NUMBER = "number", _("Number")
        TEXT = "text", _("Text")

    key = models.CharField(max_length=50, unique=True)
    label_zh = models.CharField(max_length=100)
    label_en = models.CharField(max_length=150)
    unit = models.CharField(max_length=20, blank=True)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.NUMBER)
    typed = models.BooleanField(default=False, help_text=_("Stored in its own indexed column."))

    class Meta:
        verbose_name = _("spec attribute")
        verbose_name_plural = _("spec attributes")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    @property
    def label(self) -> str:
        language = (get_language() or "zh-hans").lower()
        return self.label_en if language.startswith("en") else self.label_zh


class Material(LocalisedNameMixin, models.Model):
    code = models.CharField(max_length=30, unique=True)
    family = models.CharField(max_length=30)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["family", "code"]

    def __str__(self) -> str:
        return self.name


class Measurand(LocalisedNameMixin, models.Model):
    """A quantity a lab tests or calibrates (length, force, temperature…)."""

    code = models.CharField(max_length=40, unique=True)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    units = ArrayField(models.CharField(max_length=20), default=list, blank=True)

    class Meta:
        verbose_name = _("measurand")
        verbose_name_plural = _("measurands")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


def _private_path(folder: str, filename: str) -> str:
    """A random name under a dated folder: uploads are private and never guessable."""
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def licence_upload_to(instance, filename: str) -> str:
    return _private_path("licences", filename)


def provider_photo_upload_to(instance, filename: str) -> str:
    return _private_path("provider-photos", filename)


def certificate_upload_to(instance, filename: str) -> str:
    return _private_path("certificates", filename)


def resource_photo_upload_to(instance, filename: str) -> str:
    return _private_path("resource-photos", filename)


class ProviderProfile(models.Model):
    """The public face of a providing organisation, and its verification by operators.

    Buyers only ever see resources of *verified* providers.
    """

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("Unverified")
        PENDING = "pending", _("Pending verification")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="provider_profile")
    legal_name = models.CharField(_("legal name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_credit_code],
        help_text=_("18 characters, printed on the business licence."),
    )
    province = models.CharField(_("province"), max_length=4, blank=True)
    city = models.CharField(_("city"), max_length=8, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    description = models.TextField(_("description"), blank=True)
    # A share of each new trade's estimated gross the buyer pays before production starts.
    # Snapshotted into the trade's terms at creation (billing.services.deposits), so editing it
    # later never changes what an existing trade agreed.
    deposit_percent = models.DecimalField(
        _("deposit required (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Share of the estimated total the buyer pays when booking; production waits for it. 0 for none."),
    )
    business_licence = models.FileField(_("business licence"), upload_to=licence_upload_to, blank=True)
    status = models.CharField(
        _("verification status"), max_length=12, choices=Status.choices, default=Status.UNVERIFIED
    )
    status_reason = models.TextField(_("reason"), blank=True, help_text=_("Shown to the provider."))
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("provider profile")
        verbose_name_plural = _("provider profiles")
        indexes = [models.Index(fields=["status"], name="provider_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(deposit_percent__gte=0, deposit_percent__lte=100), name="provider_deposit_percent_range"
            )
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED


class ProviderPhoto(models.Model):
    profile = models.ForeignKey(ProviderProfile, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("photo"), upload_to=provider_photo_upload_to)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class Certification(models.Model):
    """A management-system or accreditation certificate a provider holds."""

    class Standard(models.TextChoices):
        ISO9001 = "ISO9001", "ISO 9001"
        IATF16949 = "IATF16949", "IATF 16949"
        AS9100 = "AS9100", "AS9100"
        ISO13485 = "ISO13485", "ISO 13485"
        ISO14001 = "ISO14001", "ISO 14001"
        ISO45001 = "ISO45001", "ISO 45001"
        ISO17025 = "ISO17025", _("ISO/IEC 17025 (CNAS)")
        OTHER = "other", _("Other")

    profile = models.ForeignKey(ProviderProfile, on_delete=models.CASCADE, related_name="certifications")
    standard = models.CharField(_("standard"), max_length=12, choices=Standard.choices)
    number = models.CharField(_("certificate number"), max_length=80)
    issuer = models.CharField(_("issuer"), max_length=200)
    scope = models.TextField(_("scope"), blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    document = models.FileField(_("document"), upload_to=certificate_upload_to, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        ordering = ["standard", "-valid_until"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("valid_from")), name="certification_dates"),
        ]
        indexes = [
            models.Index(fields=["standard", "valid_until"], name="certification_valid_idx"),
            # Matching: "does this provider hold a valid X?" per candidate.
            models.Index(fields=["profile", "standard", "valid_until"], name="certification_profile_std_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_standard_display()} {self.number}"

    def is_valid_on(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.valid_from <= day <= self.valid_until


class ResourceQuerySet(models.QuerySet):
    def visible_to_buyers(self):
        """Listed resources of verified providers — the only ones buyers ever see."""
        return self.filter(
            status=Resource.Status.LISTED,
            provider__provider_profile__status=ProviderProfile.Status.VERIFIED,
        )


class Resource(models.Model):
    """One listing: a machine, a test capability or a metrology service, with specs and rates.

    Specs that matching filters on are typed, indexed columns; the rest of a category's
    attributes live in ``extra_specs``.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING_REVIEW = "pending_review", _("Pending review")
        LISTED = "listed", _("Listed")
        PAUSED = "paused", _("Paused")
        RETIRED = "retired", _("Retired")

    class BillingUnit(models.TextChoices):
        MACHINE_HOUR = "machine_hour", _("Machine-hour")
        PART = "part", _("Part")

    provider = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="resources")
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="resources", limit_choices_to={"parent__isnull": False}
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Category.Kind.choices, editable=False)
    name = models.CharField(_("name"), max_length=200)
    make = models.CharField(_("make"), max_length=100, blank=True)
    model_name = models.CharField(_("model"), max_length=100, blank=True)
    year = models.PositiveSmallIntegerField(
        _("year built"), null=True, blank=True, validators=[MinValueValidator(1950), MaxValueValidator(2100)]
    )
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    review_note = models.TextField(_("review note"), blank=True)

    # Typed specs (filterable).
    envelope_x_mm = models.DecimalField(_("envelope X (mm)"), max_digits=9, decimal_places=2, null=True, blank=True)
    envelope_y_mm = models.DecimalField(_("envelope Y (mm)"), max_digits=9, decimal_places=2, null=True, blank=True)
    envelope_z_mm = models.DecimalField(_("envelope Z (mm)"), max_digits=9, decimal_places=2, null=True, blank=True)
    max_part_weight_kg = models.DecimalField(
        _("max part weight (kg)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    tolerance_mm = models.DecimalField(
        _("achievable tolerance (± mm)"), max_digits=8, decimal_places=4, null=True, blank=True
    )
    surface_finish_ra_um = models.DecimalField(
        _("surface finish Ra (µm)"), max_digits=7, decimal_places=3, null=True, blank=True
    )
    axes = models.PositiveSmallIntegerField(_("axes"), null=True, blank=True)
    spindle_speed_rpm = models.PositiveIntegerField(_("spindle speed (rpm)"), null=True, blank=True)
    max_force_kn = models.DecimalField(_("max force (kN)"), max_digits=10, decimal_places=2, null=True, blank=True)
    temperature_min_c = models.DecimalField(
        _("min temperature (°C)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    temperature_max_c = models.DecimalField(
        _("max temperature (°C)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    materials = models.ManyToManyField(Material, blank=True, related_name="resources", verbose_name=_("materials"))
    standards = ArrayField(models.CharField(max_length=80), default=list, blank=True, verbose_name=_("standards"))
    measurand = models.ForeignKey(
        Measurand, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("measurand")
    )
    range_min = models.DecimalField(_("range from"), max_digits=16, decimal_places=6, null=True, blank=True)
    range_max = models.DecimalField(_("range to"), max_digits=16, decimal_places=6, null=True, blank=True)
    range_unit = models.CharField(_("range unit"), max_length=20, blank=True)
    uncertainty = models.CharField(_("uncertainty / accuracy"), max_length=120, blank=True)
    accreditation_ref = models.CharField(_("accreditation reference"), max_length=120, blank=True)
    extra_specs = models.JSONField(_("other specs"), default=dict, blank=True)

    # Rate card.
    billing_unit = models.CharField(
        _("billing unit"), max_length=12, choices=BillingUnit.choices, default=BillingUnit.MACHINE_HOUR
    )
    rate = models.DecimalField(
        _("rate"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    setup_fee = models.DecimalField(
        _("setup fee"), max_digits=12, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    minimum_charge = models.DecimalField(
        _("minimum charge"), max_digits=12, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    billing_increment_minutes = models.PositiveSmallIntegerField(
        _("billing increment (minutes)"), default=15, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    cycle_time_minutes = models.DecimalField(
        _("typical cycle time per part (minutes)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    lead_time_buffer_hours = models.PositiveSmallIntegerField(
        _("lead-time buffer (hours)"),
        default=24,
        help_text=_("How long before a booked slot the work must be confirmed (material, programming)."),
    )
    capacity = models.PositiveSmallIntegerField(
        _("parallel capacity"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("How many jobs or specimens it takes at once (e.g. a climate chamber)."),
    )
    # Denormalised text for bilingual search (names, category names, specs, materials).
    search_text = models.TextField(editable=False, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    listed_at = models.DateTimeField(null=True, blank=True)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["status", "category"], name="resource_status_category_idx"),
            models.Index(fields=["kind", "status"], name="resource_kind_status_idx"),
            models.Index(fields=["provider", "status"], name="resource_provider_idx"),
            models.Index(fields=["rate"], name="resource_rate_idx"),
            models.Index(fields=["tolerance_mm"], name="resource_tolerance_idx"),
            models.Index(fields=["envelope_x_mm", "envelope_y_mm", "envelope_z_mm"], name="resource_envelope_idx"),
            models.Index(fields=["max_part_weight_kg"], name="resource_weight_idx"),
            GinIndex(fields=["standards"], name="resource_standards_idx"),
            GinIndex(name="resource_search_trgm", fields=["search_text"], opclasses=["gin_trgm_ops"]),
            # Matching: listed resources of a category by their largest envelope side (the sorted
            # envelope fit test compares GREATEST(x, y, z) first); same expression as the query.
            models.Index(
                models.F("category"),
                Greatest("envelope_x_mm", "envelope_y_mm", "envelope_z_mm"),
                name="resource_match_envelope_idx",
                condition=Q(status="listed"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(range_min__isnull=True)
                | Q(range_max__isnull=True)
                | Q(range_max__gte=models.F("range_min")),
                name="resource_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(temperature_min_c__isnull=True)
                | Q(temperature_max_c__isnull=True)
                | Q(temperature_max_c__gte=models.F("temperature_min_c")),
                name="resource_temperature_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # kind always follows the category; kept as a column so catalogue filters need no join.
        if self.category_id:
            self.kind = self.category.kind
        super().save(*args, **kwargs)

    @property
    def envelope(self) -> tuple[Decimal, Decimal, Decimal] | None:
        if None in (self.envelope_x_mm, self.envelope_y_mm, self.envelope_z_mm):
            return None
        return (self.envelope_x_mm, self.envelope_y_mm, self.envelope_z_mm)

    @property
    def is_bookable(self) -> bool:
        return self.status == self.Status.LISTED


class ResourcePhoto(models.Model):
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("photo"), upload_to=resource_photo_upload_to)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class AvailabilityRule(models.Model):
    """One block of the weekly idle pattern, in the provider's time zone.

    Minutes from local midnight: ``[start_minute, end_minute)``; 1440 is the next midnight.
    """

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="availability_rules")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), validators=[MaxValueValidator(6)], help_text=_("0 = Monday … 6 = Sunday")
    )
    start_minute = models.PositiveSmallIntegerField(validators=[MaxValueValidator(1439)])
    end_minute = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(1440)])

    class Meta:
        verbose_name = _("weekly idle hours")
        verbose_name_plural = _("weekly idle hours")
        ordering = ["weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(condition=Q(end_minute__gt=models.F("start_minute")), name="rule_nonempty"),
        ]

    def __str__(self) -> str:
        start, end = divmod(self.start_minute, 60), divmod(self.end_minute, 60)
        return f"{self.weekday} {start[0]:02d}:{start[1]:02d}–{end[0]:02d}:{end[1]:02d}"


class AvailabilityException(models.Model):
    """A dated change to the weekly pattern: extra idle time, or a blackout (maintenance, holiday)."""

    class Kind(models.TextChoices):
        EXTRA = "extra", _("Extra idle time")
        BLACKOUT = "blackout", _("Blackout")

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="availability_exceptions")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    span = DateTimeRangeField(_("period"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("availability exception")
        verbose_name_plural = _("availability exceptions")
        ordering = ["span"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.span.lower:%Y-%m-%d %H:%M}–{self.span.upper:%Y-%m-%d %H:%M}"


class IdleWindow(models.Model):
    """A materialised, half-open interval in which the resource may be booked.

    Rebuilt from the weekly pattern and exceptions (capacity.services.availability); windows
    of one resource never overlap or touch (adjacent ones are merged).
    """

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="idle_windows")
    span = DateTimeRangeField()

    class Meta:
        verbose_name = _("idle window")
        verbose_name_plural = _("idle windows")
        ordering = ["resource", "span"]
        indexes = [GistIndex(fields=["resource", "span"], name="idlewindow_resource_span_gist")]
        constraints = [
            ExclusionConstraint(
                name="idlewindow_no_overlap",
                expressions=[("resource", RangeOperators.EQUAL), ("span", RangeOperators.OVERLAPS)],
            ),
            models.CheckConstraint(condition=~Q(span__isempty=True), name="idlewindow_nonempty"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id}: {self.span.lower:%Y-%m-%d %H:%M}–{self.span.upper:%Y-%m-%d %H:%M}"


class Booking(models.Model):
    """Reserved machine time on a resource. Active (held or confirmed) bookings of a
    capacity-1 resource can never overlap: the exclusion constraint guarantees it whatever the
    application does. Resources with capacity > 1 are guarded by a lock and a count instead
    (``exclusive`` is False for them)."""

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        CONFIRMED = "confirmed", _("Confirmed")
        RELEASED = "released", _("Released")
        EXPIRED = "expired", _("Expired")
        COMPLETED = "completed", _("Completed")

    ACTIVE = (Status.HELD, Status.CONFIRMED)

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    span = DateTimeRangeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    exclusive = models.BooleanField(default=True, editable=False)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["span"]
        indexes = [GistIndex(fields=["resource", "span"], name="booking_resource_span_gist")]
        constraints = [
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[("resource", RangeOperators.EQUAL), ("span", RangeOperators.OVERLAPS)],
                condition=Q(status__in=["held", "confirmed"], exclusive=True),
                violation_error_message=_("That slot was just taken."),
            ),
            models.CheckConstraint(condition=~Q(span__isempty=True), name="booking_nonempty"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id}: {self.span.lower:%Y-%m-%d %H:%M}–{self.span.upper:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ReviewEvent(models.Model):
    """One change of a provider's verification status or of a resource's listing status:
    who moved it, from what, to what, and why. Append-only; the operator console's audit trail."""

    class SubjectType(models.TextChoices):
        PROVIDER = "provider", _("Provider")
        RESOURCE = "resource", _("Resource")

    subject_type = models.CharField(_("subject type"), max_length=10, choices=SubjectType.choices)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    from_status = models.CharField(_("from"), max_length=16)
    to_status = models.CharField(_("to"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    # {"changes": {field: [old, new]}} when an edit sends a listing back to review;
    # {"snapshot": {field: value}} when a listing is approved (what the operator approved).
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("review event")
        verbose_name_plural = _("review events")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "created_at"], name="reviewevent_subject_idx")]

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id}: {self.from_status} → {self.to_status}"


# --- Metering: devices, meter readings and usage per booking window (capacity/models_metering.py) ---
from capacity.models_metering import (  # noqa: E402, F401
    BookingUsage,
    BookingUsageDay,
    Device,
    JobReport,
    JobReportEvent,
    MeterReading,
    UsageAdjustment,
    UsageSource,
)
