"""The REST API under /api/v1/: one router; each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from capacity.api import CategoryViewSet


class Router(DefaultRouter):
    # No ".json" suffix routes: one URL per resource keeps the scoping walk and the docs simple.
    include_format_suffixes = False


router = Router()
router.register("categories", CategoryViewSet, basename="category")

urlpatterns = router.urls
