from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from marketplace.access import active_membership

# Areas an operator may only enter with a second factor.
OPERATOR_PREFIXES = ("/admin/", "/ops/")


class ActiveOrganisationMiddleware:
    """Exposes the active membership to templates and views (resolved lazily, once)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.active_membership = lambda: active_membership(request)
        return self.get_response(request)


class OperatorMFAMiddleware:
    """Operators must have TOTP set up before they can use the operator area or the admin.

    allauth then asks for the code at every login, and the admin's own login goes through
    allauth (secure_admin_login), so there is no path around the second factor.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and request.path.startswith(OPERATOR_PREFIXES)
            and not _has_totp(user)
        ):
            messages.warning(request, _("Operators must set up two-factor authentication first."))
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
