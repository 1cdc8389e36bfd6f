"""Orders: what a buyer wants made, tested or measured, its drawings and who may see them.

An order moves through explicit states (``ALLOWED_TRANSITIONS``); every change is an
``OrderEvent``. Drawings are private files: only the buyer's organisation, providers the
order is shared with (after accepting the buyer's NDA where one is required) and operators
may open them, and every opening is logged.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import Organisation

# Capacity models are referenced by "app.Model" strings: capacity.models imports this
# package (Organisation), so importing it back here would be circular.


class OrderQuerySet(models.QuerySet):
    def of_buyer(self, organisation: Organisation):
        return self.filter(buyer=organisation)

    def shared_with(self, organisation: Organisation):
        return self.filter(shares__provider=organisation)


class Order(models.Model):
    """A buyer's request for capacity: a part to make, a sample to test or an item to measure."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        MATCHED = "matched", _("Matched")
        AWARDED = "awarded", _("Awarded")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class Kind(models.TextChoices):
        # The same values as capacity.Category.Kind (an order's kind is its category's).
        PRODUCTION = "production", _("Production")
        TESTING = "testing", _("Testing")
        METROLOGY = "metrology", _("Metrology and calibration")

    class BillingPreference(models.TextChoices):
        MACHINE_HOUR = "machine_hour", _("Machine-hour")
        PART = "part", _("Part")

    class MaterialSupply(models.TextChoices):
        BUYER_SUPPLIED = "buyer_supplied", _("Buyer supplies the material (来料加工)")
        PROVIDER_SUPPLIED = "provider_supplied", _("Provider supplies the material")

    # Orders the buyer may still change (update_order) and add drawings to.
    EDITABLE = (Status.DRAFT, Status.OPEN)
    # Orders the buyer may share with providers.
    SHAREABLE = (Status.OPEN, Status.MATCHED, Status.AWARDED)

    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="orders", verbose_name=_("buyer"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)

    # What
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    category = models.ForeignKey(
        "capacity.Category",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("category"),
        help_text=_("A minor category, or a major one meaning any of its minors."),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    material = models.ForeignKey(
        "capacity.Material",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("material"),
    )
    material_note = models.CharField(_("material note"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])
    billing_preference = models.CharField(
        _("billing preference"),
        max_length=12,
        choices=BillingPreference.choices,
        default=BillingPreference.MACHINE_HOUR,
    )
    material_supply = models.CharField(
        _("material supply"),
        max_length=20,
        choices=MaterialSupply.choices,
        default=MaterialSupply.BUYER_SUPPLIED,
    )
    material_budget = models.DecimalField(
        _("material budget"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Priced as its own line when the provider supplies the material."),
    )

    # Spec
    tolerance_mm = models.DecimalField(
        _("tolerance (± mm)"),
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    envelope_x_mm = models.DecimalField(
        _("part size X (mm)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    envelope_y_mm = models.DecimalField(
        _("part size Y (mm)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    envelope_z_mm = models.DecimalField(
        _("part size Z (mm)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    weight_kg = models.DecimalField(
        _("part weight (kg)"),
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    cycle_time_minutes = models.DecimalField(
        _("estimated cycle time per part (minutes)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Optional: providers' rate cards may supply it."),
    )
    # Certification.Standard values (validated by the form and the service).
    certifications = ArrayField(
        models.CharField(max_length=12), default=list, blank=True, verbose_name=_("required certifications")
    )
    measurand = models.ForeignKey(
        "capacity.Measurand",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("measurand"),
    )
    range_min = models.DecimalField(_("range from"), max_digits=16, decimal_places=6, null=True, blank=True)
    range_max = models.DecimalField(_("range to"), max_digits=16, decimal_places=6, null=True, blank=True)
    range_unit = models.CharField(_("range unit"), max_length=20, blank=True)

    # Delivery and budget
    due_at = models.DateTimeField(_("due date"), null=True, blank=True)
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
    budget = models.DecimalField(
        _("budget ceiling"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")

    # Drawings
    nda_required = models.BooleanField(_("providers must accept an NDA before opening drawings"), default=False)
    nda_text = models.TextField(_("NDA text"), blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["buyer", "status"], name="order_buyer_status_idx"),
            models.Index(fields=["status", "due_at"], name="order_status_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(range_min__isnull=True)
                | Q(range_max__isnull=True)
                | Q(range_max__gte=models.F("range_min")),
                name="order_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    @property
    def is_shareable(self) -> bool:
        return self.status in self.SHAREABLE

    @property
    def envelope(self) -> tuple[Decimal, Decimal, Decimal] | None:
        if None in (self.envelope_x_mm, self.envelope_y_mm, self.envelope_z_mm):
            return None
        return (self.envelope_x_mm, self.envelope_y_mm, self.envelope_z_mm)

    @property
    def certification_labels(self) -> list[str]:
        from capacity.models import Certification

        labels = dict(Certification.Standard.choices)
        return [str(labels.get(value, value)) for value in self.certifications]

    @property
    def is_measurement(self) -> bool:
        return self.kind in (self.Kind.TESTING, self.Kind.METROLOGY)


S = Order.Status

# The order state machine. Anything not listed here is refused by transition_order.
# - draft → open when the buyer submits a complete order;
# - open → matched when matching has found candidates, → awarded when a quote or booking is
#   accepted directly (an RFQ), → expired when the due date passes unanswered;
# - matched → open when every match fell away;
# - awarded → closed when the trade completes;
# - cancelled, closed and expired are final.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.OPEN, S.CANCELLED}),
    S.OPEN: frozenset({S.MATCHED, S.AWARDED, S.CANCELLED, S.EXPIRED}),
    S.MATCHED: frozenset({S.OPEN, S.AWARDED, S.CANCELLED, S.EXPIRED}),
    S.AWARDED: frozenset({S.CLOSED, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}


class OrderEvent(models.Model):
    """One change of an order's state: who, when, from, to and why (append-only)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    from_status = models.CharField(max_length=10, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Order.Status.choices)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


class OrderShare(models.Model):
    """The buyer shows an order (spec summary and drawings, never the budget) to a provider."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shares")
    provider = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="shared_orders")
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order share")
        verbose_name_plural = _("order shares")
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["order", "provider"], name="ordershare_unique")]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.provider}"


class NdaAcceptance(models.Model):
    """A provider organisation accepted the buyer's NDA of an order (once, by one of its users)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="nda_acceptances")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("NDA acceptance")
        verbose_name_plural = _("NDA acceptances")
        constraints = [models.UniqueConstraint(fields=["order", "organisation"], name="ndaacceptance_unique")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.organisation}"


def order_file_upload_to(instance, filename: str) -> str:
    """A random, unguessable name; the original name lives in ``original_name`` only."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"order-files/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class OrderFile(models.Model):
    """A drawing or model attached to an order, stored privately (never under a public URL).

    Its type is detected from the content (marketplace.drawings), not from the name.
    """

    class Kind(models.TextChoices):
        PDF = "pdf", _("PDF drawing")
        STEP = "step", _("STEP model")
        IGES = "iges", _("IGES model")
        STL = "stl", _("STL mesh")
        DXF = "dxf", _("DXF drawing")
        DWG = "dwg", _("DWG drawing")
        IMAGE = "image", _("Image")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="files")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    file = models.FileField(upload_to=order_file_upload_to, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("order file")
        verbose_name_plural = _("order files")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name


class FileAccessLog(models.Model):
    """Each time somebody opened or downloaded a drawing (append-only)."""

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        DOWNLOAD = "download", _("Downloaded")

    file = models.ForeignKey(OrderFile, on_delete=models.CASCADE, related_name="access_log")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("file access")
        verbose_name_plural = _("file accesses")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_id} {self.action} by {self.user_id}"
