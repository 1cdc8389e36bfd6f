"""``Idempotency-Key`` on creating POSTs.

The first successful response is stored with a hash of method, path and body, in the same
transaction as what it created. A retry with the same key and body replays that response
(same status and body, header ``Idempotent-Replayed: true``) and creates nothing; the same key
with a different request is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from marketplace.api.auth import api_key_of
from marketplace.api.errors import IdempotencyConflict
from marketplace.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _request_hash(request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    try:
        digest.update(request._request.body)
    except RawPostDataException:  # a multipart body already parsed: hash its fields and files
        for name in sorted(request.data):
            values = request.data.getlist(name) if hasattr(request.data, "getlist") else [request.data[name]]
            for value in values:
                if hasattr(value, "chunks"):
                    digest.update(f"{name}={value.name}:".encode())
                    for chunk in value.chunks():
                        digest.update(chunk)
                    value.seek(0)
                else:
                    digest.update(f"{name}={value}".encode())
    return digest.hexdigest()


def _principal(request) -> dict:
    key = api_key_of(request)
    return {"api_key": key} if key is not None else {"api_key": None, "user": request.user}


def _replay(record: IdempotencyRecord, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        raise IdempotencyConflict(_("This Idempotency-Key was already used with a different request; use a new key."))
    return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})


def idempotent(handler):
    """Decorate a viewset method that creates something."""

    @wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return handler(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError({HEADER: [_("At most 255 characters.")]})
        request_hash = _request_hash(request)
        principal = _principal(request)
        existing = IdempotencyRecord.objects.filter(key=key, **principal).first()
        if existing is not None:
            return _replay(existing, request_hash)
        try:
            with transaction.atomic():
                response = handler(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    body = json.loads(JSONRenderer().render(response.data) or b"null")
                    IdempotencyRecord.objects.create(
                        key=key,
                        method=request.method,
                        path=request.path[:500],
                        request_hash=request_hash,
                        response_status=response.status_code,
                        response_body=body,
                        **principal,
                    )
        except IntegrityError:
            # A concurrent request with the same key won; its creation stands, ours rolled back.
            existing = IdempotencyRecord.objects.filter(key=key, **principal).first()
            if existing is None:
                raise
            return _replay(existing, request_hash)
        return response

    return wrapper
