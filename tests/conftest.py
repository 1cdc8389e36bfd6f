"""Named personas shared by the whole suite.

- provider_owner / provider_member: owner and member of ``provider_org`` (a factory);
- buyer_owner: owner of ``buyer_org`` (an SME);
- outsider: owner of an unrelated organisation that sees nothing of the others;
- operator: platform staff with TOTP set up.
"""

import os

import hypothesis
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP

from marketplace.models import Membership, Organisation
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.stripe_servers import connect_server, localstripe, stripe_on, webhook_inbox  # noqa: F401

IN_CI = os.environ.get("CI", "").lower() == "true"

# Property-based tests: ~50 examples in CI, fewer on a developer machine. Examples of a test share
# its database transaction (each builds its own objects), hence the fixture health check is off.
# CI is reproducible: derandomized (examples derived from each test's name, the same on every run)
# and no example database. tests/test_fuzz.py checks that every hypothesis test follows the profile.
hypothesis.settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.register_profile(
    "dev",
    max_examples=20,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile("ci" if IN_CI else "dev")


def skip_unless_ci(reason: str):
    """Skip on a developer machine that lacks a service; in CI the test must run and fail loudly."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def provider_org(db):
    return OrganisationFactory(name="Suzhou Precision CNC", slug="suzhou-precision", kind=Organisation.Kind.PROVIDER)


@pytest.fixture
def buyer_org(db):
    return OrganisationFactory(name="Hangzhou Robotics", slug="hangzhou-robotics", kind=Organisation.Kind.BUYER)


@pytest.fixture
def other_org(db):
    return OrganisationFactory(name="Unrelated Works", slug="unrelated-works", kind=Organisation.Kind.BOTH)


@pytest.fixture
def provider_owner(provider_org):
    return MembershipFactory(
        organisation=provider_org, user__email="owner@provider.example", role=Membership.Role.OWNER
    ).user


@pytest.fixture
def provider_member(provider_org):
    return MembershipFactory(
        organisation=provider_org, user__email="member@provider.example", role=Membership.Role.MEMBER
    ).user


@pytest.fixture
def buyer_owner(buyer_org):
    return MembershipFactory(organisation=buyer_org, user__email="owner@buyer.example", role=Membership.Role.OWNER).user


@pytest.fixture
def outsider(other_org):
    return MembershipFactory(organisation=other_org, user__email="someone@outsider.example").user


@pytest.fixture
def operator(db):
    user = UserFactory(email="ops@spindle.example", is_staff=True, is_superuser=True)
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    assert Authenticator.objects.filter(user=user).count() == 1
    return user


@pytest.fixture
def client_for(client):
    """``client_for(user)`` returns the test client signed in as ``user``."""

    def login(user):
        client.force_login(user)
        return client

    return login


def database_url(settings_dict) -> str:
    """A DATABASE_URL for a subprocess (worker, check) that must use the same database."""
    from urllib.parse import quote

    host = settings_dict["HOST"] or "localhost"
    if host.startswith("/"):
        host = quote(host, safe="")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{settings_dict['USER']}{password}@{host}{port}/{settings_dict['NAME']}"


def subprocess_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DEBUG"))}
    env.update(overrides)
    return env


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth keeps rate limits in the cache: start every test with an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests flush the database, data migrations included: reload the shipped
    taxonomy, materials and measurands before each one (an idempotent upsert)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        yield
        return
    request.getfixturevalue("transactional_db")
    from capacity.models import Category
    from capacity.reference import load_reference_data

    if not Category.objects.exists():
        load_reference_data()
    yield


@pytest.fixture
def private_media(settings, tmp_path):
    """Uploaded files go to a fresh MEDIA_ROOT per test; returns its path."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def stored_files(root) -> list:
    """Every file under ``root`` (to prove a refused upload stored nothing)."""
    return sorted(p for p in root.rglob("*") if p.is_file())
