"""API authentication, permissions and throttling.

``Authorization: Bearer spk_<prefix>_<secret>`` authenticates as the key's creator acting for
the key's organisation. Browsable-API sessions act for the active organisation, as pages do.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header

from marketplace.access import active_membership
from marketplace.models import ApiKey, Membership, Organisation
from marketplace.services import api_keys


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as 'Authorization: Bearer spk_…'."))
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from error
        key = api_keys.key_for(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        user = key.created_by
        if not user.is_active or not Membership.objects.filter(organisation=key.organisation, user=user).exists():
            raise exceptions.AuthenticationFailed(_("The key's creator no longer belongs to the organisation."))
        api_keys.touch(key)
        return user, key

    def authenticate_header(self, request):
        return self.keyword


class BrowsableSessionAuthentication(SessionAuthentication):
    """Session authentication (with its CSRF check) for the browsable API and the docs."""


def api_key_of(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


def organisation_of(request) -> Organisation | None:
    """The organisation the request acts for: the key's, else the session's active one."""
    key = api_key_of(request)
    if key is not None:
        return key.organisation
    if not request.user.is_authenticated:
        return None
    membership = active_membership(request._request)
    return membership.organisation if membership else None


class KeyScope(permissions.BasePermission):
    """Read-only keys may only use safe methods."""

    message = _("This API key is read-only.")
    code = "read_only_key"

    def has_permission(self, request, view):
        key = api_key_of(request)
        return key is None or key.can_write or request.method in permissions.SAFE_METHODS


class ActsForOrganisation(permissions.BasePermission):
    """Signed in (key or session) and acting for an organisation."""

    message = _("Act for an organisation to use this endpoint.")

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        organisation = organisation_of(request)
        request.organisation = organisation
        return organisation is not None


class ApiKeyThrottle(throttling.SimpleRateThrottle):
    """Requests per API key (settings.SPINDLE_API_KEY_RATE, e.g. "600/min"); sessions are not
    throttled here."""

    scope = "api_key"

    def get_rate(self):
        return settings.SPINDLE_API_KEY_RATE

    def allow_request(self, request, view):
        # Read the rate per request so a settings override applies.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        key = api_key_of(request)
        if key is None:
            return None
        return f"throttle_api_key_{key.pk}"
