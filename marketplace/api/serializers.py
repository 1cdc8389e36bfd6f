"""Serializers of the public API: shape only. Writes go through the domain services."""

from __future__ import annotations

from rest_framework import serializers

from billing.models import CreditNote, Invoice, InvoiceLine
from capacity.models import BookingUsage, Category, Device, Material, Measurand, Resource
from capacity.services.resources import IDENTITY_FIELDS, RATE_FIELDS, SPEC_COLUMNS
from marketplace.models import (
    Match,
    MatchRun,
    Order,
    OrderFile,
    Quote,
    RFQInvitation,
    Trade,
    TradeBooking,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from marketplace.services.orders import ORDER_FIELDS


class CodeField(serializers.SlugRelatedField):
    """A related row by its code. A code with a NUL character is unknown (PostgreSQL refuses NUL in
    text, so it is never looked up)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00"))
        return super().to_internal_value(data)


def _code(model, **kwargs):
    return CodeField(slug_field="code", queryset=model.objects.all(), **kwargs)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- resources -------------------------------------------------------------------------------

# The fields the workspace service lets an owner edit (capacity.services.resources), in order.
RESOURCE_WRITABLE = [*IDENTITY_FIELDS, "category", "standards", *SPEC_COLUMNS, *RATE_FIELDS]


class ResourceSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    category = _code(Category)
    measurand = _code(Measurand, required=False, allow_null=True)
    materials = _code(Material, many=True, required=False)

    class Meta:
        model = Resource
        fields = ["id", "provider", "status", "kind", *RESOURCE_WRITABLE, "materials", "created_at", "updated_at"]
        read_only_fields = ["id", "provider", "status", "kind", "created_at", "updated_at"]


class IntervalSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class AvailabilitySerializer(serializers.Serializer):
    resource = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    idle_windows = IntervalSerializer(many=True)
    free = IntervalSerializer(many=True)


# --- orders ----------------------------------------------------------------------------------


class OrderSerializer(serializers.ModelSerializer):
    buyer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    category = _code(Category)
    material = _code(Material, required=False, allow_null=True)
    measurand = _code(Measurand, required=False, allow_null=True)

    class Meta:
        model = Order
        fields = ["id", "buyer", "status", *sorted(ORDER_FIELDS), "created_at", "updated_at", "submitted_at"]
        read_only_fields = ["id", "buyer", "status", "created_at", "updated_at", "submitted_at"]


class OrderFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderFile
        fields = ["id", "original_name", "content_type", "size", "uploaded_at"]
        read_only_fields = fields


class OrderFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class MatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Match
        fields = [
            "id",
            "rank",
            "resource",
            "provider",
            "score",
            "price_total",
            "currency",
            "price",
            "finish_at",
            "slots",
            "distance_km",
            "explanation",
        ]
        read_only_fields = fields


class MatchRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = MatchRun
        fields = ["id", "status", "progress", "created_at", "finished_at", "error", "no_match", "split_plan"]
        read_only_fields = fields


class MatchesSerializer(serializers.Serializer):
    run = MatchRunSerializer(allow_null=True)
    matches = MatchSerializer(many=True)
    split_plan = serializers.JSONField(allow_null=True)


# --- trades, bookings, quotes, devices, usage ---------------------------------------------------


class TradeSerializer(serializers.ModelSerializer):
    buyer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Trade
        fields = [
            "id",
            "order",
            "buyer",
            "provider",
            "status",
            "origin",
            "kind",
            "quantity",
            "currency",
            "billing_unit",
            "rate",
            "setup_fee",
            "minimum_charge",
            "vat_rate",
            "price_estimate",
            "material_amount",
            "freight_amount",
            "free_cancellation_until",
            "cancellation_fee",
            "carrier",
            "tracking_number",
            "delivered_at",
            "accepted_quantity",
            "rejected_quantity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Trade.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class BookingSerializer(serializers.ModelSerializer):
    start = serializers.DateTimeField(source="booking.span.lower", read_only=True)
    end = serializers.DateTimeField(source="booking.span.upper", read_only=True)
    status = serializers.CharField(source="booking.status", read_only=True)

    class Meta:
        model = TradeBooking
        fields = ["id", "trade", "order", "resource", "booking", "quantity", "status", "start", "end", "price"]
        read_only_fields = fields


class QuoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Quote
        fields = [
            "id",
            "invitation",
            "resource",
            "lines",
            "total",
            "currency",
            "lead_time_days",
            "slot_start",
            "slot_end",
            "valid_until",
            "notes",
            "status",
            "created_at",
        ]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="rfq.order_id", read_only=True)
    message = serializers.CharField(source="rfq.message", read_only=True)
    respond_by = serializers.DateTimeField(source="rfq.respond_by", read_only=True, allow_null=True)
    quote = QuoteSerializer(read_only=True, allow_null=True)

    class Meta:
        model = RFQInvitation
        fields = ["id", "order", "status", "message", "respond_by", "invited_at", "responded_at", "quote"]
        read_only_fields = fields


class QuoteLineSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["work", "setup", "material", "freight", "other"], default="other")
    label = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class QuoteSubmitSerializer(serializers.Serializer):
    invitation = serializers.IntegerField()
    resource = serializers.IntegerField()
    lines = QuoteLineSerializer(many=True)
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365)
    slot_start = serializers.DateTimeField()
    slot_end = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = [
            "id",
            "name",
            "kind",
            "resources",
            "secret_hint",
            "created_at",
            "rotated_at",
            "revoked_at",
            "last_seen_at",
        ]
        read_only_fields = fields


class UsageSerializer(serializers.ModelSerializer):
    trade = serializers.IntegerField(source="booking.trade_link.trade_id", read_only=True)
    resource = serializers.IntegerField(source="booking.resource_id", read_only=True)

    class Meta:
        model = BookingUsage
        fields = [
            "id",
            "booking",
            "trade",
            "resource",
            "run_seconds",
            "parts",
            "overrun_run_seconds",
            "overrun_parts",
            "readings_count",
            "source",
            "computed_at",
            "final",
            "finalised_at",
        ]
        read_only_fields = fields


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["code", "description", "quantity", "unit", "unit_price", "amount", "rule"]
        read_only_fields = fields


class CreditNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditNote
        fields = ["number", "issued_at", "currency", "net", "vat", "gross", "reason"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    credit_notes = CreditNoteSerializer(many=True, read_only=True)
    seller = serializers.CharField(source="seller.slug", read_only=True)
    buyer = serializers.CharField(source="buyer.slug", read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "trade",
            "supplements",
            "seller",
            "buyer",
            "currency",
            "lines",
            "credit_notes",
            "net",
            "vat_rate",
            "vat",
            "gross",
            "payment_reference",
            "issued_at",
            "due_at",
            "paid_at",
        ]
        read_only_fields = fields


# --- webhooks --------------------------------------------------------------------------------


class WebhookSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices), min_length=1)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "event_types", "active", "created_at"]
        read_only_fields = ["id", "created_at"]


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret; shown only in this response.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_type",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "attempt_log",
            "payload",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields
