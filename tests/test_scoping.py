"""Walk every URL the project defines and check who is refused.

Each named route must be listed in ACCESS with who may use it. For every non-public route:
- an anonymous visitor is sent to the login page (or refused);
- a member of another organisation gets 403/404 for objects of this one, on GET and POST;
- a plain member gets 403 where an owner is required;
- a non-operator gets 403/404 in the operator area;
and no refused request changes the database. Later features add their routes here.
"""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from capacity.models import Device
from marketplace.models import Invitation, Membership, Notification

PUBLIC = "public"
LOGIN = "login"  # any signed-in user, acting for themselves
ORG = "org"  # a member of the active organisation; objects of other organisations are 404
OWNER = "owner"  # an owner of the active organisation
OPERATOR = "operator"

ACCESS = {
    "home": PUBLIC,
    "healthz": PUBLIC,
    "set_language": PUBLIC,
    "organisation_create": LOGIN,
    "organisation_switch": LOGIN,
    "notifications": LOGIN,
    "invitation_accept": LOGIN,
    "organisation_settings": OWNER,
    "organisation_members": ORG,
    "member_role": OWNER,
    "member_remove": ORG,
    "invitation_revoke": OWNER,
    # metering (device pages, usage, device ingestion signed by HMAC rather than a session)
    "capacity:device_list": ORG,
    "capacity:device_create": OWNER,
    "capacity:device_detail": ORG,
    "capacity:device_rotate": OWNER,
    "capacity:device_revoke": OWNER,
    "capacity:device_resources": OWNER,
    "capacity:booking_usage": ORG,
    "capacity:device_readings_api": PUBLIC,
}

# Routes provided by libraries whose access rules are their own (allauth, the admin).
LIBRARY_NAMESPACES = ("admin",)
LIBRARY_MODULES = ("allauth.", "django.contrib.admin")

REFUSED = {403, 404, 405}


def project_routes():
    """(name, route pattern) for every named route the project itself defines; names inside an
    app namespace are qualified ("capacity:device_list")."""
    routes = []

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace in LIBRARY_NAMESPACES or p.urlconf_module.__name__.startswith(LIBRARY_MODULES):
                    continue
                inner = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), inner)
            elif isinstance(p, URLPattern) and p.name:
                module = getattr(p.callback, "__module__", "")
                if module.startswith(LIBRARY_MODULES):
                    continue
                routes.append((namespace + p.name, prefix + str(p.pattern)))

    walk(get_resolver().url_patterns)
    return routes


@pytest.fixture
def world(provider_org, provider_owner, provider_member, outsider):
    """Objects of provider_org that URL parameters point at."""
    from tests.capacity.metering_support import T0, booking, device_for

    member_ship = Membership.objects.get(user=provider_member)
    device, _secret = device_for(provider_org, provider_owner)
    slot = booking(device.resources.get(), T0, T0 + timedelta(hours=2))
    invitation = Invitation.objects.create(
        organisation=provider_org, email="newcomer@provider.example", invited_by=provider_owner
    )
    Notification.objects.create(user=provider_owner, kind="test", title="Private to the owner")
    return {
        "membership_id": member_ship.pk,
        "invitation_id": invitation.pk,
        "token": invitation.token,
        "device_id": device.pk,
        "booking_id": slot.pk,
    }


def url_for(name, world):
    from django.urls import get_resolver

    resolver = get_resolver()
    *namespaces, short = name.split(":")
    for namespace in namespaces:
        resolver = resolver.namespace_dict[namespace][1]
    possibilities = resolver.reverse_dict.getlist(short)
    params = set()
    for possibility in possibilities:
        for _fmt, names in possibility[0]:
            params.update(names)
    missing = params - set(world)
    assert not missing, f"add sample values for {sorted(missing)} (route {name}) to the world fixture"
    return reverse(name, kwargs={k: world[k] for k in params})


def snapshot():
    return (
        list(Membership.objects.order_by("pk").values_list("pk", "role")),
        list(Invitation.objects.order_by("pk").values_list("pk", "accepted_at", "revoked_at")),
        list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
        list(Device.objects.order_by("pk").values_list("pk", "name", "secret_encrypted", "revoked_at", "rotated_at")),
        list(Device.resources.through.objects.order_by("pk").values_list("device_id", "resource_id")),
    )


def test_every_route_has_an_access_rule():
    names = {name for name, _ in project_routes()}
    assert names - set(ACCESS) == set(), "new routes need an entry in ACCESS"
    assert set(ACCESS) - names == set(), "ACCESS lists routes that no longer exist"


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login(client, world):
    before = snapshot()
    for name, _ in project_routes():
        if ACCESS[name] == PUBLIC:
            continue
        url = url_for(name, world)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in REFUSED | {302}, (name, method, response.status_code)
            if response.status_code == 302:
                assert response.url.startswith(reverse("account_login")), (name, method, response.url)
    assert snapshot() == before


@pytest.mark.django_db
def test_members_of_another_organisation_see_nothing(client, world, outsider):
    client.force_login(outsider)
    before = snapshot()
    for name, route in project_routes():
        if ACCESS[name] in (PUBLIC, LOGIN) and "<" not in route:
            continue
        if "<" not in route:
            continue  # scoped to the outsider's own organisation: nothing of provider_org to see
        url = url_for(name, world)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in REFUSED, (name, method, response.status_code)
    assert snapshot() == before


@pytest.mark.django_db
def test_plain_members_cannot_do_what_owners_do(client, world, provider_member):
    client.force_login(provider_member)
    before = snapshot()
    for name, _ in project_routes():
        if ACCESS[name] != OWNER:
            continue
        url = url_for(name, world)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in REFUSED, (name, method, response.status_code)
    assert snapshot() == before


@pytest.mark.django_db
def test_non_operators_are_refused_in_the_operator_area(client, world, provider_owner):
    client.force_login(provider_owner)
    before = snapshot()
    operator_urls = [url_for(name, world) for name, _ in project_routes() if ACCESS[name] == OPERATOR]
    operator_urls += [reverse("admin:index"), reverse("admin:marketplace_organisation_changelist")]
    for url in operator_urls:
        for method in ("get", "post"):
            # The admin first redirects to its login, which (through allauth) refuses non-staff.
            response = getattr(client, method)(url, follow=True)
            assert response.status_code in REFUSED, (url, method, response.status_code)
    assert snapshot() == before
