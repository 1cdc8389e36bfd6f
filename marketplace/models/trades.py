"""Trades: the contract between a buyer and a provider, how it is reached and how it runs.

- An **RFQ** sends an order to a few providers (``RFQInvitation``); each answers with a
  **Quote** or declines. The buyer awards one quote, which books its slot and creates a Trade.
- Instant booking reaches the same Trade without an RFQ: a matched plan is held, then confirmed.
- A **Trade** snapshots the agreed terms at creation (rate card, VAT, commission, cancellation
  policy): later listing edits never change it. It moves through ``TRADE_TRANSITIONS``; every
  change is a ``TradeEvent``.
- ``TradeBooking`` links a capacity Booking to the order (while held) and then its trade. It
  lives here rather than as a column on ``capacity.Booking`` so the supply app never depends
  on the trade domain, and it carries what a slice of a plan agreed (quantity, price).
- Messages, their attachments and the inspection report are private files, shown only to the
  two parties and operators, every opening logged.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import Organisation
from marketplace.models.orders import Order


def _private(folder: str, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def inspection_report_upload_to(instance, filename: str) -> str:
    return _private("inspection-reports", filename)


def trade_attachment_upload_to(instance, filename: str) -> str:
    return _private("trade-files", filename)


class RFQ(models.Model):
    """A buyer's request for quotes on one order, sent to a few providers."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        AWARDED = "awarded", _("Awarded")
        CLOSED = "closed", _("Closed")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="rfqs", verbose_name=_("order"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    message = models.TextField(_("message to providers"), blank=True)
    respond_by = models.DateTimeField(_("answer by"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("request for quotes")
        verbose_name_plural = _("requests for quotes")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"RFQ {self.pk} · order {self.order_id}"


class RFQInvitation(models.Model):
    """One provider invited to quote on an RFQ, and how it answered."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        QUOTED = "quoted", _("Quoted")
        DECLINED = "declined", _("Declined")
        SELECTED = "selected", _("Selected")
        NOT_SELECTED = "not_selected", _("Not selected")

    rfq = models.ForeignKey(RFQ, on_delete=models.CASCADE, related_name="invitations")
    provider = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="rfq_invitations")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.INVITED)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    invited_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("RFQ invitation")
        verbose_name_plural = _("RFQ invitations")
        ordering = ["invited_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["rfq", "provider"], name="rfqinvitation_unique")]
        indexes = [models.Index(fields=["provider", "status"], name="rfqinvitation_provider_idx")]

    def __str__(self) -> str:
        return f"{self.rfq_id} → {self.provider_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.INVITED


class Quote(models.Model):
    """A provider's priced answer to an RFQ: lines, total, lead time and a proposed slot on one
    of its resources, valid until a moment (an expired quote cannot be awarded)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        AWARDED = "awarded", _("Awarded")
        NOT_SELECTED = "not_selected", _("Not selected")

    invitation = models.OneToOneField(RFQInvitation, on_delete=models.CASCADE, related_name="quote")
    rfq = models.ForeignKey(RFQ, on_delete=models.CASCADE, related_name="quotes")
    provider = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="quotes")
    resource = models.ForeignKey(
        "capacity.Resource", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("resource")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # [{"label": str, "amount": "123.45"}, …]; total is their sum.
    lines = models.JSONField(_("price lines"), default=list)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"))
    slot_start = models.DateTimeField(_("proposed start"))
    slot_end = models.DateTimeField(_("proposed end"))
    valid_until = models.DateTimeField(_("valid until"))
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    created_at = models.DateTimeField(_("submitted"), default=timezone.now)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["total", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(slot_end__gt=models.F("slot_start")), name="quote_slot_ordered"),
            models.CheckConstraint(condition=Q(total__gte=0), name="quote_total_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"Quote {self.pk} · {self.total} {self.currency}"

    def is_expired(self, now=None) -> bool:
        return self.valid_until <= (now or timezone.now())


class Trade(models.Model):
    """The agreed contract between a buyer and a provider for (part of) an order.

    The terms are a snapshot taken at creation — rates, billing unit and increment, VAT rate
    of the kind of service, commission, material and freight, the cancellation policy — so a
    listing edited later never changes what was agreed.
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        IN_PRODUCTION = "in_production", _("In production")
        PRODUCED = "produced", _("Produced")
        DELIVERED = "delivered", _("Delivered")
        INSPECTED = "inspected", _("Inspected")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        DISPUTED = "disputed", _("Disputed")
        RESOLVED = "resolved", _("Resolved")

    class Origin(models.TextChoices):
        BOOKING = "booking", _("Instant booking")
        QUOTE = "quote", _("Awarded quote")

    FINAL = (Status.COMPLETED, Status.CANCELLED, Status.RESOLVED)

    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="trades_bought")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="trades_provided")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="trades")
    quote = models.OneToOneField(Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="trade")
    origin = models.CharField(_("origin"), max_length=8, choices=Origin.choices)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices, default=Status.CONFIRMED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    # --- terms snapshot (never edited after creation) ---
    kind = models.CharField(_("kind of service"), max_length=12, choices=Order.Kind.choices)
    currency = models.CharField(_("currency"), max_length=3)
    quantity = models.PositiveIntegerField(_("quantity"))
    billing_unit = models.CharField(_("billing unit"), max_length=12)
    rate = models.DecimalField(_("rate"), max_digits=12, decimal_places=2)
    setup_fee = models.DecimalField(_("setup fee"), max_digits=12, decimal_places=2, default=Decimal("0"))
    minimum_charge = models.DecimalField(_("minimum charge"), max_digits=12, decimal_places=2, default=Decimal("0"))
    billing_increment_minutes = models.PositiveSmallIntegerField(_("billing increment (minutes)"))
    increment_rounding = models.CharField(_("increment rounding"), max_length=8, default="ceiling")
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=5, decimal_places=4)
    commission_rate = models.DecimalField(_("commission rate"), max_digits=5, decimal_places=4)
    commission_min = models.DecimalField(_("minimum commission"), max_digits=12, decimal_places=2)
    commission_max = models.DecimalField(
        _("maximum commission"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    material_amount = models.DecimalField(_("material"), max_digits=12, decimal_places=2, default=Decimal("0"))
    freight_amount = models.DecimalField(_("freight"), max_digits=12, decimal_places=2, default=Decimal("0"))
    price_estimate = models.DecimalField(_("estimated price (net)"), max_digits=14, decimal_places=2)
    # Everything above plus the per-slice rate cards, price lines and slots, as agreed.
    terms = models.JSONField(_("terms snapshot"), default=dict)

    # --- cancellation policy (snapshot) and its outcome ---
    free_cancellation_until = models.DateTimeField(_("free cancellation until"))
    cancellation_fee_percent = models.DecimalField(
        _("cancellation fee (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    cancellation_fee = models.DecimalField(
        _("cancellation fee charged"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    cancelled_by = models.ForeignKey(Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    # --- delivery ---
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    # --- inspection ---
    accepted_quantity = models.PositiveIntegerField(_("accepted quantity"), null=True, blank=True)
    rejected_quantity = models.PositiveIntegerField(_("rejected quantity"), null=True, blank=True)
    rejection_reasons = models.TextField(_("reasons for rejection"), blank=True)
    inspection_report = models.FileField(_("inspection report"), upload_to=inspection_report_upload_to, blank=True)
    inspection_report_name = models.CharField(max_length=255, blank=True)
    inspection_report_type = models.CharField(max_length=100, blank=True)
    inspected_at = models.DateTimeField(_("inspected"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("trade")
        verbose_name_plural = _("trades")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["buyer", "status"], name="trade_buyer_status_idx"),
            models.Index(fields=["provider", "status"], name="trade_provider_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(buyer=models.F("provider")), name="trade_two_parties"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="trade_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"Trade #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    def pricing_terms(self):
        """The snapshot as billing.pricing.Terms (what an invoice is priced with)."""
        from billing.pricing import Terms

        return Terms(
            currency=self.currency,
            billing_unit=self.billing_unit,
            rate=self.rate,
            setup_fee=self.setup_fee,
            minimum_charge=self.minimum_charge,
            billing_increment_minutes=self.billing_increment_minutes,
            increment_rounding=self.increment_rounding,
            vat_rate=self.vat_rate,
            commission_rate=self.commission_rate,
            commission_min=self.commission_min,
            commission_max=self.commission_max,
            material=self.material_amount,
            freight=self.freight_amount,
        )


T = Trade.Status

# The trade state machine. Anything not listed is refused by transition_trade.
TRADE_TRANSITIONS: dict[str, frozenset[str]] = {
    T.CONFIRMED: frozenset({T.IN_PRODUCTION, T.CANCELLED}),
    T.IN_PRODUCTION: frozenset({T.PRODUCED}),
    T.PRODUCED: frozenset({T.DELIVERED}),
    T.DELIVERED: frozenset({T.INSPECTED, T.DISPUTED}),
    T.INSPECTED: frozenset({T.COMPLETED, T.DISPUTED}),
    T.COMPLETED: frozenset(),
    T.CANCELLED: frozenset(),
    T.DISPUTED: frozenset({T.RESOLVED}),
    T.RESOLVED: frozenset(),
}

BUYER = "buyer"
PROVIDER = "provider"
OPERATOR = "operator"

# Who may make each move: the provider runs production and ships, the buyer inspects,
# accepts or disputes, either side cancels before production starts, an operator resolves.
TRANSITION_ROLES: dict[tuple[str, str], frozenset[str]] = {
    (T.CONFIRMED, T.IN_PRODUCTION): frozenset({PROVIDER}),
    (T.CONFIRMED, T.CANCELLED): frozenset({BUYER, PROVIDER}),
    (T.IN_PRODUCTION, T.PRODUCED): frozenset({PROVIDER}),
    (T.PRODUCED, T.DELIVERED): frozenset({PROVIDER}),
    (T.DELIVERED, T.INSPECTED): frozenset({BUYER}),
    (T.DELIVERED, T.DISPUTED): frozenset({BUYER}),
    (T.INSPECTED, T.COMPLETED): frozenset({BUYER}),
    (T.INSPECTED, T.DISPUTED): frozenset({BUYER}),
    (T.DISPUTED, T.RESOLVED): frozenset({OPERATOR}),
}


class TradeEvent(models.Model):
    """One change of a trade: a state transition (who, when, from, to, note), or a recorded
    fact that does not change the state (a rescheduled booking, a no-show, usage approved or
    reported)."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("Status change")
        RESCHEDULE = "reschedule", _("Rescheduled")
        NO_SHOW = "no_show", _("No-show")
        USAGE = "usage", _("Usage")

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TRANSITION)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    from_status = models.CharField(max_length=14, choices=Trade.Status.choices, blank=True)
    to_status = models.CharField(max_length=14, choices=Trade.Status.choices)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("trade event")
        verbose_name_plural = _("trade events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.trade_id}: {self.from_status or '∅'} → {self.to_status}"


class TradeBooking(models.Model):
    """A booking made for an order's plan (while held) and then for its trade, with what that
    slice agreed: the quantity, its price and the resource's rate card at that moment."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="plan_bookings")
    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, null=True, blank=True, related_name="bookings")
    booking = models.OneToOneField("capacity.Booking", on_delete=models.PROTECT, related_name="trade_link")
    resource = models.ForeignKey("capacity.Resource", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    price = models.JSONField(default=dict)
    rate_card = models.JSONField(default=dict)
    held_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    no_show_at = models.DateTimeField(_("no-show recorded"), null=True, blank=True)
    no_show_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # The buyer accepts run time measured outside the booked window (billed as overrun).
    overrun_approved_at = models.DateTimeField(_("overrun approved"), null=True, blank=True)
    overrun_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("trade booking")
        verbose_name_plural = _("trade bookings")
        ordering = ["booking__span", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.trade_id}: booking {self.booking_id}"


class TradeMessage(models.Model):
    """A message in a trade's thread between buyer and provider (operators may read)."""

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("trade message")
        verbose_name_plural = _("trade messages")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.trade_id}: {self.body[:40]}"


class TradeAttachment(models.Model):
    """A file attached to a trade message; stored privately, type checked from its content."""

    message = models.ForeignKey(TradeMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=trade_attachment_upload_to)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("trade attachment")
        verbose_name_plural = _("trade attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name


class TradeFileAccess(models.Model):
    """Each opening of a trade file (a message attachment or the inspection report)."""

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="file_accesses")
    attachment = models.ForeignKey(
        TradeAttachment, on_delete=models.CASCADE, null=True, blank=True, related_name="accesses"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("trade file access")
        verbose_name_plural = _("trade file accesses")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.trade_id}/{self.attachment_id or 'report'} by {self.user_id}"


class Review(models.Model):
    """One party's rating (1–5) of the other after a completed trade; one per party per trade."""

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="reviews_written")
    subject = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="reviews_received")
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    rating = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(_("review"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trade", "author"], name="review_one_per_party"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_range"),
        ]

    def __str__(self) -> str:
        return f"{self.trade_id}: {self.rating}/5 by {self.author_id}"
