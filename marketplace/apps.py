from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")

    def ready(self):
        # The matching weights model lives beside the engine (marketplace/matching/models.py);
        # importing it here registers it with the marketplace app.
        from marketplace.matching import models  # noqa: F401
