"""Build a believable demo market. Running it again changes nothing.

Each part of the domain adds its own seeding step to ``SEED_STEPS`` (a dotted path to a
function taking ``stdout``); steps must be idempotent (get_or_create on natural keys).
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils.module_loading import import_string

from marketplace import demo

SEED_STEPS = [
    "marketplace.demo.seed_people",
    "capacity.demo.seed_capacity",
    "marketplace.demo.seed_orders",
    "marketplace.demo_trades.seed_trades",
    "capacity.demo.metering.seed_metering",
]


class Command(BaseCommand):
    help = "Create demo organisations, users and market data (idempotent)."

    def handle(self, *args, **options):
        # Demo activity notifies demo users at made-up addresses: never send that mail, whatever
        # EMAIL_BACKEND is configured (the in-app notifications are still created).
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"), transaction.atomic():
            for step in SEED_STEPS:
                import_string(step)(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD})")
        for email, role in demo.demo_logins():
            self.stdout.write(f"  {email:<34} {role}")
        self.stdout.write(
            f"  The operator's TOTP secret is {demo.OPERATOR_TOTP_SECRET} "
            "(add it to an authenticator app; operators must use MFA)."
        )
