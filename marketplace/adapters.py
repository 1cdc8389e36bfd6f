from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.urls import reverse

from marketplace import crypto


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        # A new user has no organisation yet: creating one is the first thing to do.
        if request.user.is_authenticated and not request.user.is_staff and not request.user.memberships.exists():
            return reverse("organisation_create")
        return super().get_login_redirect_url(request)


class MFAAdapter(DefaultMFAAdapter):
    """TOTP keys are encrypted at rest (allauth stores them in the clear by default)."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
