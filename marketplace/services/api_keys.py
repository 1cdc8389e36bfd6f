"""Organisation API keys: owners create and revoke them; the API authenticates with them."""

from __future__ import annotations

import secrets
import string
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.errors import DomainError
from marketplace.models import ApiKey, Organisation, User
from marketplace.models.api import KEY_PREFIX, hash_key
from marketplace.services.accounts import _require_owner

PREFIX_ALPHABET = string.ascii_lowercase + string.digits


def _new_prefix() -> str:
    while True:
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(8))
        if not ApiKey.objects.filter(prefix=prefix).exists():
            return prefix


@transaction.atomic
def create_api_key(*, organisation: Organisation, by: User, name: str, scope: str) -> tuple[ApiKey, str]:
    """A new key and its clear text ``spk_<prefix>_<secret>``, which is never stored and shown once."""
    _require_owner(organisation, by)
    name = name.strip()
    if not name:
        raise DomainError(_("Give the key a name."), code="name_required")
    if scope not in ApiKey.Scope.values:
        raise DomainError(_("Unknown scope."), code="scope")
    prefix = _new_prefix()
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organisation=organisation, name=name, prefix=prefix, hashed_key=hash_key(raw), scope=scope, created_by=by
    )
    return key, raw


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey, by: User, now: datetime | None = None) -> ApiKey:
    _require_owner(api_key.organisation, by)
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is not None:
        raise DomainError(_("This key is already revoked."), code="revoked")
    locked.revoked_at = now or timezone.now()
    locked.save(update_fields=["revoked_at"])
    return locked


def key_for(raw: str) -> ApiKey | None:
    """The key a request presents (revoked ones included, so they can be told apart), or None."""
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    key = ApiKey.objects.select_related("organisation", "created_by").filter(prefix=parts[1]).first()
    if key is None or not secrets.compare_digest(key.hashed_key, hash_key(raw)):
        return None
    return key


def touch(api_key: ApiKey, *, now: datetime | None = None) -> None:
    """Record use, at most once a minute per key (one UPDATE, no lock)."""
    now = now or timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() >= 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
