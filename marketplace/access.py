"""Access helpers: every view that acts for an organisation goes through one of these.

The active organisation is chosen per session (a user may belong to several). Objects are
fetched *with* their scope: another organisation's object is a 404, never a 403, so its
existence is not revealed.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from marketplace.models import Membership

SESSION_KEY = "active_organisation_id"


def active_membership(request) -> Membership | None:
    """The membership the user currently acts through (cached on the request)."""
    if hasattr(request, "_active_membership"):
        return request._active_membership
    membership = None
    if request.user.is_authenticated:
        memberships = list(
            Membership.objects.filter(user=request.user).select_related("organisation").order_by("organisation__name")
        )
        wanted = request.session.get(SESSION_KEY)
        membership = next((m for m in memberships if m.organisation_id == wanted), None)
        if membership is None and memberships:
            membership = memberships[0]
        request._memberships = memberships
    request._active_membership = membership
    return membership


def set_active_organisation(request, organisation_id: int) -> None:
    request.session[SESSION_KEY] = organisation_id
    request.__dict__.pop("_active_membership", None)


def _login_redirect(request):
    return redirect_to_login(request.get_full_path())


def organisation_required(view):
    """Signed in and acting for an organisation; sets request.membership / request.organisation."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _login_redirect(request)
        membership = active_membership(request)
        if membership is None:
            return redirect("organisation_create")
        request.membership = membership
        request.organisation = membership.organisation
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view):
    """Like organisation_required, and the user must own the active organisation."""

    @organisation_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_owner:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def provider_required(view):
    @organisation_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.organisation.is_provider:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def buyer_required(view):
    @organisation_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.organisation.is_buyer:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def operator_required(view):
    """Platform staff only (MFA is enforced by OperatorMFAMiddleware)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if not request.user.is_operator:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
