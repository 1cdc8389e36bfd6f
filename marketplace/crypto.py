"""Symmetric encryption for secrets the server must read back (TOTP keys, device secrets).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`. The key comes from ENCRYPTION_KEY
(a Fernet key); without it, one is derived from SECRET_KEY, so rotating SECRET_KEY without
setting ENCRYPTION_KEY makes stored secrets unreadable — production should set both.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = getattr(settings, "ENCRYPTION_KEY", "")
    if not key:
        digest = hashlib.sha256(b"spindle-encryption:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
