from datetime import UTC, datetime
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress

from capacity.models import Category
from marketplace.models import Membership, Organisation, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        self.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = Organisation.Kind.PROVIDER


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Membership.Role.OWNER


class ProviderProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "capacity.ProviderProfile"

    organisation = factory.SubFactory(OrganisationFactory)
    legal_name = factory.LazyAttribute(lambda o: f"{o.organisation.name} Co., Ltd.")
    status = "verified"
    province = "JS"
    city = "SZ"
    latitude = Decimal("31.2990")
    longitude = Decimal("120.5853")


class ResourceFactory(factory.django.DjangoModelFactory):
    """A listed 3-axis CNC mill (category P0101) of a verified provider."""

    class Meta:
        model = "capacity.Resource"

    provider = factory.LazyAttribute(lambda o: ProviderProfileFactory().organisation)
    category = factory.LazyFunction(lambda: Category.objects.get(code="P0101"))
    name = factory.Sequence(lambda n: f"Vertical machining centre {n}")
    status = "listed"
    envelope_x_mm = Decimal("800")
    envelope_y_mm = Decimal("500")
    envelope_z_mm = Decimal("500")
    max_part_weight_kg = Decimal("300")
    tolerance_mm = Decimal("0.01")
    axes = 3
    rate = Decimal("180.00")
    setup_fee = Decimal("240.00")
    lead_time_buffer_hours = 0


# A valid 1×1 PNG for photo uploads in tests.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a8"
    "d2ad0000000049454e44ae426082"
)


class OrderFactory(factory.django.DjangoModelFactory):
    """An open production order of a buyer for 200 CNC-milled flanges (category P0101)."""

    class Meta:
        model = "marketplace.Order"

    buyer = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.BUYER)
    kind = "production"
    category = factory.LazyFunction(lambda: Category.objects.get(code="P0101"))
    title = "Aluminium flange"
    quantity = 200
    envelope_x_mm = Decimal("120")
    envelope_y_mm = Decimal("120")
    envelope_z_mm = Decimal("30")
    tolerance_mm = Decimal("0.02")
    due_at = factory.LazyFunction(lambda: datetime(2031, 3, 1, 18, 0, tzinfo=UTC))
    budget = Decimal("36000.00")
    currency = "CNY"
    status = "open"
