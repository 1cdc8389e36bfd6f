"""The REST API under /api/v1/: one router; each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

import marketplace.api.schema  # noqa: F401 — registers the OpenAPI security schemes
from capacity.api import CategoryViewSet
from marketplace.api import views


class Router(DefaultRouter):
    # No ".json" suffix routes: one URL per resource keeps the scoping walk and the docs simple.
    include_format_suffixes = False


router = Router()
router.register("categories", CategoryViewSet, basename="category")
router.register("resources", views.ResourceViewSet, basename="resource")
router.register("orders", views.OrderViewSet, basename="order")
router.register("trades", views.TradeViewSet, basename="trade")
router.register("bookings", views.BookingViewSet, basename="booking")
router.register("quotes", views.QuoteViewSet, basename="quote")
router.register("devices", views.DeviceViewSet, basename="device")
router.register("usage", views.UsageViewSet, basename="usage")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("webhooks", views.WebhookViewSet, basename="webhook")
router.register("webhook-deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = router.urls
