"""Viewsets of the public API v1. Each fetches with the caller's organisation scope (another
organisation's object is a 404) and calls one domain service for every write."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from billing.models import Invoice
from capacity.filters import CatalogueFilter
from capacity.models import BookingUsage, Device, IdleWindow, Resource
from capacity.selectors import catalogue
from capacity.selectors.availability import free_windows
from capacity.services import resources as resource_services
from marketplace.api import serializers as s
from marketplace.api.auth import ActsForOrganisation, KeyScope, organisation_of
from marketplace.api.idempotency import idempotent
from marketplace.api.schema import error_response
from marketplace.models import (
    Membership,
    Order,
    RFQInvitation,
    Trade,
    TradeBooking,
    WebhookDelivery,
    WebhookSubscription,
)
from marketplace.selectors import matching as match_selectors
from marketplace.selectors.orders import buyer_orders
from marketplace.selectors.trades import trades_of
from marketplace.services import matching as match_services
from marketplace.services import orders as order_services
from marketplace.services import quotes as quote_services
from marketplace.services import trades as trade_services
from marketplace.services import webhooks as webhook_services
from marketplace.tasks import run_match_run

ERRORS = {code: error_response(code) for code in (400, 401, 403, 404)}
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A unique key per creation; a retry with the same key and body replays the first response.",
)


def ex(name: str, value, *, request: bool = False, status_codes=None) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=request, response_only=not request, status_codes=status_codes)


def doc(summary: str, description: str, examples: list, **kwargs):
    if isinstance(kwargs.get("responses"), dict):
        kwargs["responses"] = {**ERRORS, **kwargs["responses"]}
    return extend_schema(summary=summary, description=description, examples=examples, **kwargs)


RESOURCE_EXAMPLE = {
    "id": 12,
    "provider": "suzhou-precision",
    "status": "listed",
    "kind": "production",
    "name": "DMG Mori DMU 50 five-axis centre",
    "category": "P0101",
    "rate": "180.00",
    "currency": "CNY",
    "capacity": 1,
    "materials": ["AL6061"],
}
ORDER_EXAMPLE = {
    "id": 41,
    "buyer": "hangzhou-robotics",
    "status": "draft",
    "kind": "production",
    "category": "P0101",
    "title": "Aluminium flange",
    "quantity": 200,
    "currency": "CNY",
}
TRADE_EXAMPLE = {
    "id": 7,
    "order": 41,
    "buyer": "hangzhou-robotics",
    "provider": "suzhou-precision",
    "status": "confirmed",
}


class OrganisationScoped(viewsets.GenericViewSet):
    lookup_value_regex = r"\d+"  # keeps /devices/readings/ (device ingestion) out of the detail routes
    permission_classes = [permissions.IsAuthenticated, KeyScope, ActsForOrganisation]

    @property
    def organisation(self):
        return self.request.organisation


# --- resources -------------------------------------------------------------------------------


class ResourcePermission(permissions.BasePermission):
    """Anyone reads visible resources; providers' members write their own."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        if not ActsForOrganisation().has_permission(request, view):
            return False
        return request.organisation.is_provider


class ApiCatalogueFilter(CatalogueFilter):
    sort = None  # the cursor orders the list

    # Type hints for the schema: both take a code.
    def filter_material(self, queryset, name, value: str):
        return super().filter_material(queryset, name, value)

    def filter_city(self, queryset, name, value: str):
        return super().filter_city(queryset, name, value)


@extend_schema_view(
    list=doc(
        "List visible resources",
        "Listed resources of verified providers, filtered with the catalogue facets (no sort: cursor order).",
        [ex("Page", RESOURCE_EXAMPLE)],
    ),
    retrieve=doc(
        "Get a resource",
        "A visible resource, or one of your organisation's resources in any status.",
        [ex("Resource", RESOURCE_EXAMPLE)],
    ),
    create=doc(
        "Create a draft resource",
        "Creates a draft listing of your provider organisation (submit it for review in the workspace).",
        [ex("New resource", {"name": "Haas VF-2", "category": "P0101", "rate": "150.00"}, request=True)],
        parameters=[IDEMPOTENCY],
        responses={201: s.ResourceSerializer},
    ),
    partial_update=doc(
        "Edit a resource",
        "Edits your resource; buyer-relevant changes to a listed resource send it back to review.",
        [ex("New rate", {"rate": "165.00"}, request=True)],
    ),
    update=doc(
        "Replace a resource's fields",
        "Like PATCH, with every writable field.",
        [ex("Resource", RESOURCE_EXAMPLE, request=True)],
    ),
    destroy=doc("Retire a resource", "Retires your resource; it stays for history and is hidden from buyers.", []),
)
class ResourceViewSet(viewsets.ModelViewSet):
    serializer_class = s.ResourceSerializer
    permission_classes = [ResourcePermission, KeyScope]
    lookup_value_regex = r"\d+"
    filterset_class = ApiCatalogueFilter

    def get_queryset(self):
        if self.action == "list":
            return catalogue.catalogue_resources(now=timezone.now()).prefetch_related("materials")
        organisation = organisation_of(self.request)
        own = Q(provider=organisation) if organisation is not None else Q(pk__in=[])
        if self.request.method in permissions.SAFE_METHODS:
            visible = Resource.objects.visible_to_buyers().values("pk")
            return Resource.objects.filter(Q(pk__in=visible) | own).prefetch_related("materials")
        return Resource.objects.filter(own).prefetch_related("materials")

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def _fields(self, serializer):
        data = dict(serializer.validated_data)
        materials = data.pop("materials", None)
        return data, materials

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields, materials = self._fields(serializer)
        resource = resource_services.create_resource(
            provider=request.organisation, actor=request.user, fields=fields, materials=materials
        )
        return Response(self.get_serializer(resource).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        resource = self.get_object()
        serializer = self.get_serializer(resource, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        fields, materials = self._fields(serializer)
        resource = resource_services.update_resource(
            resource=resource, actor=request.user, fields=fields, materials=materials
        )
        resource.refresh_from_db()
        return Response(self.get_serializer(resource).data)

    def destroy(self, request, *args, **kwargs):
        resource_services.retire_resource(resource=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @doc(
        "Free time of a resource",
        "Idle windows and free slots (idle minus bookings) in [from, to); default the next 14 days.",
        [
            ex(
                "Two free slots",
                {
                    "resource": 12,
                    "start": "2026-03-02T00:00:00+08:00",
                    "end": "2026-03-16T00:00:00+08:00",
                    "idle_windows": [{"start": "2026-03-02T08:00:00+08:00", "end": "2026-03-02T18:00:00+08:00"}],
                    "free": [
                        {"start": "2026-03-02T08:00:00+08:00", "end": "2026-03-02T10:00:00+08:00"},
                        {"start": "2026-03-02T14:00:00+08:00", "end": "2026-03-02T18:00:00+08:00"},
                    ],
                },
            )
        ],
        parameters=[
            OpenApiParameter("from", str, description="ISO 8601 date-time with offset (default: now)."),
            OpenApiParameter("to", str, description="ISO 8601 date-time with offset (default: from + 14 days)."),
        ],
        responses={200: s.AvailabilitySerializer},
    )
    @action(detail=True, methods=["get"])
    def availability(self, request, pk=None):
        resource = self.get_object()
        start = self._moment("from", timezone.now())
        end = self._moment("to", start + timedelta(days=14))
        if end <= start or end - start > timedelta(days=92):
            raise exceptions.ValidationError({"to": [_("Give an end after the start, at most 92 days later.")]})
        idle = IdleWindow.objects.filter(resource=resource, span__overlap=(start, end)).order_by("span")
        data = {
            "resource": resource.pk,
            "start": start,
            "end": end,
            "idle_windows": [{"start": max(w.span.lower, start), "end": min(w.span.upper, end)} for w in idle],
            "free": [{"start": a, "end": b} for a, b in free_windows(resource, start, end)],
        }
        return Response(s.AvailabilitySerializer(data).data)

    def _moment(self, name, default):
        raw = self.request.query_params.get(name)
        if not raw:
            return default
        moment = parse_datetime(raw)
        if moment is None or timezone.is_naive(moment):
            raise exceptions.ValidationError({name: [_("Give an ISO 8601 date-time with a UTC offset.")]})
        return moment


# --- orders ----------------------------------------------------------------------------------


class BuyerOnly(permissions.BasePermission):
    message = _("Only buyer organisations have orders.")

    def has_permission(self, request, view):
        return request.organisation.is_buyer


@extend_schema_view(
    list=doc(
        "List your orders",
        "Your buyer organisation's orders, newest first.",
        [ex("Page", ORDER_EXAMPLE)],
    ),
    retrieve=doc("Get an order", "One of your organisation's orders.", [ex("Order", ORDER_EXAMPLE)]),
    create=doc(
        "Create a draft order",
        "Starts a draft; kind, category and title are needed. Submit it with the submit action.",
        [
            ex(
                "New order",
                {"kind": "production", "category": "P0101", "title": "Aluminium flange", "quantity": 200},
                request=True,
            )
        ],
        parameters=[IDEMPOTENCY],
        responses={201: s.OrderSerializer},
    ),
    partial_update=doc(
        "Edit an order", "Changes a draft or open order.", [ex("More parts", {"quantity": 250}, request=True)]
    ),
)
class OrderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    OrganisationScoped,
):
    queryset = Order.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.OrderSerializer
    permission_classes = [*OrganisationScoped.permission_classes, BuyerOnly]
    filterset_fields = ["status", "kind"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return buyer_orders(organisation=self.organisation).select_related("material", "measurand")

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_services.create_order(
            buyer=self.organisation, by=request.user, fields=dict(serializer.validated_data)
        )
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        order = self.get_object()
        serializer = self.get_serializer(order, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        order = order_services.update_order(order=order, by=request.user, changes=dict(serializer.validated_data))
        return Response(self.get_serializer(order).data)

    @doc(
        "Submit an order",
        "Opens a complete draft for matching and quotes; an incomplete one is refused with its problems.",
        [
            ex(
                "Incomplete",
                {
                    "error": {
                        "code": "incomplete",
                        "message": "The order is not complete yet.",
                        "details": {"problems": ["Give a due date."]},
                    }
                },
                status_codes=["400"],
            )
        ],
        request=None,
        responses={200: s.OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        order = order_services.submit_order(order=self.get_object(), by=request.user)
        return Response(self.get_serializer(order).data)

    @doc(
        "Cancel an order",
        "Cancels an order that is not yet awarded.",
        [ex("Reason", {"note": "Project postponed"}, request=True)],
        request=s.NoteSerializer,
        responses={200: s.OrderSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        payload = s.NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = order_services.cancel_order(
            order=self.get_object(), by=request.user, note=payload.validated_data["note"]
        )
        return Response(self.get_serializer(order).data)

    @doc(
        "Upload a drawing",
        "multipart/form-data with one `file`; the same size, type and content checks as the order pages.",
        [
            ex(
                "Stored",
                {
                    "id": 3,
                    "original_name": "flange.step",
                    "content_type": "model/step",
                    "size": 48213,
                    "uploaded_at": "2026-03-02T09:00:00+08:00",
                },
            )
        ],
        request={"multipart/form-data": s.OrderFileUploadSerializer},
        parameters=[IDEMPOTENCY],
        responses={201: s.OrderFileSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    @idempotent
    def files(self, request, pk=None):
        order = self.get_object()
        payload = s.OrderFileUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        stored = order_services.add_order_file(order=order, by=request.user, upload=payload.validated_data["file"])
        return Response(s.OrderFileSerializer(stored).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="Latest matches",
        description="The latest finished matching run of the order: ranked matches and the split plan.",
        examples=[
            ex(
                "Matches",
                {
                    "run": {"id": 5, "status": "done"},
                    "matches": [{"rank": 1, "resource": 12, "price_total": "3600.00"}],
                    "split_plan": None,
                },
            )
        ],
        responses={200: s.MatchesSerializer, **ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        summary="Run matching",
        description="Queues a matching run (a worker executes it); poll GET for the result.",
        examples=[ex("Queued", {"id": 6, "status": "queued", "progress": 0}, status_codes=["202"])],
        request=None,
        parameters=[IDEMPOTENCY],
        responses={202: s.MatchRunSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get", "post"])
    def matches(self, request, pk=None):
        order = self.get_object()
        if request.method == "POST":
            return self._run_matching(request, order)
        run = match_selectors.latest_done_run(order)
        matches = match_selectors.run_matches(run) if run else []
        data = {"run": run, "matches": matches, "split_plan": run.split_plan if run else None}
        return Response(s.MatchesSerializer(data).data)

    @idempotent
    def _run_matching(self, request, order):
        run = match_services.queue_match_run(order=order, by=request.user)
        transaction.on_commit(lambda: run_match_run.delay(run.pk))
        return Response(s.MatchRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


# --- trades, bookings --------------------------------------------------------------------------


@extend_schema_view(
    list=doc(
        "List your trades",
        "Trades where your organisation is buyer or provider.",
        [ex("Page", TRADE_EXAMPLE)],
    ),
    retrieve=doc("Get a trade", "One of your organisation's trades.", [ex("Trade", TRADE_EXAMPLE)]),
)
class TradeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScoped):
    queryset = Trade.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.TradeSerializer
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        return trades_of(organisation=self.organisation)

    @doc(
        "Move a trade",
        "Moves the trade along its contract states if your side may make the move (e.g. the provider "
        "starts production, the buyer completes).",
        [ex("Start production", {"to": "in_production", "note": ""}, request=True), ex("Moved", TRADE_EXAMPLE)],
        request=s.TransitionSerializer,
        responses={200: s.TradeSerializer},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        trade = self.get_object()
        payload = s.TransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        side = "buyer" if trade.buyer_id == self.organisation.pk else "provider"
        trade = trade_services.transition_trade(
            trade=trade,
            to=payload.validated_data["to"],
            by=request.user,
            note=payload.validated_data["note"],
            as_role=side,
        )
        return Response(self.get_serializer(trade).data)


@extend_schema_view(
    list=doc(
        "List your trades' bookings",
        "Machine time booked for your trades.",
        [
            ex(
                "Page",
                {
                    "id": 9,
                    "trade": 7,
                    "resource": 12,
                    "start": "2026-03-02T08:00:00+08:00",
                    "end": "2026-03-02T12:00:00+08:00",
                    "status": "confirmed",
                },
            )
        ],
    ),
    retrieve=doc(
        "Get a booking",
        "One booking of your organisation's trades.",
        [ex("Booking", {"id": 9, "trade": 7, "resource": 12, "status": "confirmed"})],
    ),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScoped):
    queryset = TradeBooking.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.BookingSerializer
    filterset_fields = ["trade", "resource"]

    def get_queryset(self):
        return TradeBooking.objects.filter(
            Q(trade__buyer=self.organisation) | Q(trade__provider=self.organisation)
        ).select_related("booking")


# --- quotes, devices, usage ------------------------------------------------------------------


class ProviderOnly(permissions.BasePermission):
    message = _("Only provider organisations can do that.")

    def has_permission(self, request, view):
        return request.organisation.is_provider


QUOTE_REQUEST = {
    "invitation": 31,
    "resource": 12,
    "lines": [{"code": "work", "label": "Milling, 200 pcs", "amount": "3600.00"}],
    "lead_time_days": 5,
    "slot_start": "2026-03-09T08:00:00+08:00",
    "slot_end": "2026-03-09T18:00:00+08:00",
    "valid_until": "2026-03-06T18:00:00+08:00",
    "notes": "",
}


@extend_schema_view(
    list=doc(
        "List your RFQ invitations",
        "Invitations to quote sent to your provider organisation, with your quote if any.",
        [ex("Page", {"id": 31, "order": 41, "status": "invited", "quote": None})],
    ),
    retrieve=doc(
        "Get an invitation",
        "One invitation to quote, with your quote if any.",
        [ex("Invitation", {"id": 31, "order": 41, "status": "quoted"})],
    ),
    create=doc(
        "Submit a quote",
        "Answers an open invitation with a priced quote for one of your resources.",
        [ex("Quote", QUOTE_REQUEST, request=True)],
        request=s.QuoteSubmitSerializer,
        parameters=[IDEMPOTENCY],
        responses={201: s.QuoteSerializer},
    ),
)
class QuoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, OrganisationScoped):
    queryset = RFQInvitation.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.InvitationSerializer
    permission_classes = [*OrganisationScoped.permission_classes, ProviderOnly]
    filterset_fields = ["status"]

    def get_queryset(self):
        return RFQInvitation.objects.filter(provider=self.organisation).select_related("rfq", "quote")

    @idempotent
    def create(self, request, *args, **kwargs):
        payload = s.QuoteSubmitSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        invitation = get_object_or_404(self.get_queryset(), pk=data["invitation"])
        resource = get_object_or_404(Resource.objects.filter(provider=self.organisation), pk=data["resource"])
        quote = quote_services.submit_quote(
            invitation=invitation,
            by=request.user,
            resource=resource,
            lines=[dict(line) for line in data["lines"]],
            lead_time_days=data["lead_time_days"],
            slot_start=data["slot_start"],
            slot_end=data["slot_end"],
            valid_until=data["valid_until"],
            notes=data["notes"],
        )
        return Response(s.QuoteSerializer(quote).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=doc(
        "List your devices",
        "Your provider organisation's meters. Devices send readings to POST /api/v1/devices/readings/, "
        "signed with HMAC (see the DeviceHmac security scheme), not with an API key.",
        [
            ex(
                "Page",
                {"id": 4, "name": "Spindle meter DMU 50", "kind": "gateway", "resources": [12]},
            )
        ],
    ),
    retrieve=doc(
        "Get a device",
        "One of your devices (its secret is never shown).",
        [ex("Device", {"id": 4, "name": "Spindle meter DMU 50", "secret_hint": "…a3f9"})],
    ),
)
class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScoped):
    queryset = Device.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.DeviceSerializer
    permission_classes = [*OrganisationScoped.permission_classes, ProviderOnly]

    def get_queryset(self):
        return Device.objects.filter(provider=self.organisation).prefetch_related("resources")


@extend_schema_view(
    list=doc(
        "List metered usage",
        "Measured run time and parts per booking of your organisation's trades.",
        [
            ex(
                "Page",
                {
                    "id": 2,
                    "booking": 9,
                    "trade": 7,
                    "run_seconds": "5400.000",
                    "parts": "120.000",
                    "final": True,
                },
            )
        ],
    ),
    retrieve=doc(
        "Get usage of a booking",
        "Usage of one booking of your trades.",
        [ex("Usage", {"id": 2, "booking": 9, "trade": 7, "run_seconds": "5400.000", "final": False})],
    ),
)
class UsageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScoped):
    queryset = BookingUsage.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.UsageSerializer
    filterset_fields = ["final"]

    def get_queryset(self):
        mine = Q(booking__trade_link__trade__buyer=self.organisation) | Q(
            booking__trade_link__trade__provider=self.organisation
        )
        return BookingUsage.objects.filter(mine).select_related("booking__trade_link")


INVOICE_EXAMPLE = {
    "id": 12,
    "number": "SZJG-2026-000012",
    "status": "issued",
    "trade": 7,
    "seller": "suzhou-jinggong",
    "buyer": "hangzhou-qiming",
    "currency": "CNY",
    "lines": [
        {
            "code": "machine_hours",
            "description": "Machine-hours (measured 21.92 h, booked 24 h)",
            "quantity": "22.0000",
            "unit": "h",
            "unit_price": "180.00",
            "amount": "3960.00",
            "rule": "ceiling_15min+half_up",
        }
    ],
    "net": "4200.00",
    "vat_rate": "0.1300",
    "vat": "546.00",
    "gross": "4746.00",
    "payment_reference": "SPD8K2M4Q7",
    "issued_at": "2026-12-09T10:00:00+08:00",
    "due_at": "2027-01-08T10:00:00+08:00",
    "paid_at": None,
}


@extend_schema_view(
    list=doc(
        "List invoices",
        "Invoices your organisation issued (as provider) or received (as buyer), newest first.",
        [ex("Page", INVOICE_EXAMPLE)],
    ),
    retrieve=doc(
        "Get an invoice", "One of your organisation's invoices with its lines.", [ex("Invoice", INVOICE_EXAMPLE)]
    ),
    pdf=doc(
        "Download an invoice as PDF",
        "The bilingual invoice PDF (application/pdf).",
        [],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, examples=[ex("PDF file", "%PDF-1.4 … (binary)")]
            )
        },
    ),
)
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScoped):
    queryset = Invoice.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.InvoiceSerializer
    filterset_fields = ["status", "currency"]

    def get_queryset(self):
        mine = Q(seller=self.organisation) | Q(buyer=self.organisation)
        return (
            Invoice.objects.filter(mine)
            .exclude(status=Invoice.Status.DRAFT)
            .select_related("seller", "buyer")
            .prefetch_related("lines", "credit_notes")
        )

    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        from django.http import HttpResponse

        from billing.pdf import render_invoice_pdf

        invoice = self.get_object()
        response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number or invoice.pk}.pdf"'
        return response


# --- webhooks --------------------------------------------------------------------------------


class OwnerWrites(permissions.BasePermission):
    """Members read; only owners of the organisation (the key's creator must still own it) write."""

    message = _("Only an owner of the organisation can do that.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return Membership.objects.filter(
            organisation=request.organisation, user=request.user, role=Membership.Role.OWNER
        ).exists()


WEBHOOK_EXAMPLE = {
    "id": 3,
    "url": "https://erp.example.com/spindle/webhooks",
    "event_types": ["trade.created", "trade.status_changed", "invoice.issued"],
    "active": True,
    "created_at": "2026-03-02T09:00:00+08:00",
}
DELIVERY_EXAMPLE = {
    "id": 88,
    "subscription": 3,
    "event_type": "trade.status_changed",
    "event_id": "5f0c6a2e-8d0b-4c43-9a51-0d8f7f1b2c3d",
    "status": "pending",
    "attempts": 1,
    "next_attempt_at": "2026-03-02T09:01:00+08:00",
    "last_status_code": 500,
    "last_error": "HTTP 500",
    "attempt_log": [
        {"attempt": 1, "at": "2026-03-02T09:00:00+08:00", "status_code": 500, "error": "HTTP 500", "duration_ms": 41}
    ],
    "payload": {
        "id": "5f0c6a2e-8d0b-4c43-9a51-0d8f7f1b2c3d",
        "type": "trade.status_changed",
        "created": "2026-03-02T09:00:00+08:00",
        "organisation": "hangzhou-robotics",
        "data": {"trade": {"id": 7, "status": "in_production"}, "from": "confirmed", "to": "in_production"},
    },
    "created_at": "2026-03-02T09:00:00+08:00",
    "delivered_at": None,
}
SIGNATURE_DOC = (
    "Each delivery is a POST of JSON with the headers `Spindle-Event`, `Spindle-Delivery` (the delivery id), "
    "`Spindle-Timestamp` (Unix seconds) and `Spindle-Signature: t=<timestamp>,v1=<hex>`, where `<hex>` is "
    "HMAC-SHA256 with the subscription's secret over `<timestamp>.<raw body>`. Verify it in constant time and "
    "refuse old timestamps. A 2xx answer acknowledges; anything else is retried after 1 min, 5 min, 30 min, "
    "2 h and 12 h (6 attempts). The body's `id` (event id) is the same on every retry and replay."
)


@extend_schema_view(
    list=doc(
        "List webhooks",
        "Your organisation's webhook subscriptions. " + SIGNATURE_DOC,
        [ex("Page", WEBHOOK_EXAMPLE)],
    ),
    retrieve=doc(
        "Get a webhook", "One of your organisation's webhook subscriptions.", [ex("Webhook", WEBHOOK_EXAMPLE)]
    ),
    create=doc(
        "Create a webhook",
        "Owners only. Subscribes an https URL to events; the response carries the signing secret, shown only "
        "once. " + SIGNATURE_DOC,
        [
            ex(
                "New webhook",
                {"url": "https://erp.example.com/spindle/webhooks", "event_types": ["trade.created"]},
                request=True,
            ),
            ex("Created", {**WEBHOOK_EXAMPLE, "secret": "whsec_Qm9vZ2llV29vZ2llQm9vZ2llV29vZ2ll"}),
        ],
        parameters=[IDEMPOTENCY],
        responses={201: s.WebhookCreatedSerializer},
    ),
    partial_update=doc(
        "Edit a webhook",
        "Owners only. Changes the URL, the events or pauses it (`active`).",
        [ex("Pause", {"active": False}, request=True), ex("Webhook", {**WEBHOOK_EXAMPLE, "active": False})],
    ),
    destroy=doc("Delete a webhook", "Owners only. Deletes the subscription and its delivery history.", []),
)
class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrganisationScoped,
):
    queryset = WebhookSubscription.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.WebhookSerializer
    permission_classes = [*OrganisationScoped.permission_classes, OwnerWrites]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return WebhookSubscription.objects.filter(organisation=self.organisation)

    @idempotent
    def create(self, request, *args, **kwargs):
        payload = s.WebhookSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        subscription, secret = webhook_services.create_subscription(
            organisation=self.organisation,
            by=request.user,
            url=payload.validated_data["url"],
            event_types=payload.validated_data["event_types"],
        )
        data = {**s.WebhookSerializer(subscription).data, "secret": secret}
        return Response(data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        subscription = self.get_object()
        payload = s.WebhookSerializer(subscription, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        subscription = webhook_services.update_subscription(
            subscription=subscription, by=request.user, **payload.validated_data
        )
        return Response(s.WebhookSerializer(subscription).data)

    def destroy(self, request, *args, **kwargs):
        webhook_services.delete_subscription(subscription=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @doc(
        "List a webhook's deliveries",
        "Deliveries of this subscription, newest first, with every attempt's outcome.",
        [ex("Page", DELIVERY_EXAMPLE)],
        responses={200: s.WebhookDeliverySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        queryset = WebhookDelivery.objects.filter(subscription=subscription)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)


@extend_schema_view(
    list=doc(
        "List webhook deliveries",
        "Deliveries to all of your organisation's webhooks, newest first.",
        [ex("Page", DELIVERY_EXAMPLE)],
    ),
    retrieve=doc(
        "Get a webhook delivery", "One delivery with its payload and attempts.", [ex("Delivery", DELIVERY_EXAMPLE)]
    ),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScoped):
    queryset = WebhookDelivery.objects.none()  # the schema's model; get_queryset scopes
    serializer_class = s.WebhookDeliverySerializer
    permission_classes = [*OrganisationScoped.permission_classes, OwnerWrites]
    filterset_fields = ["status", "event_type", "subscription"]

    def get_queryset(self):
        return WebhookDelivery.objects.filter(subscription__organisation=self.organisation)

    @doc(
        "Replay a delivery",
        "Owners only. Sends the same event (same event id, new signature) once more, now.",
        [ex("Queued", {**DELIVERY_EXAMPLE, "status": "pending"}, status_codes=["202"])],
        request=None,
        responses={202: s.WebhookDeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = webhook_services.replay_delivery(delivery=self.get_object(), by=request.user)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
