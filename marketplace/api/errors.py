"""One error format for the whole API:
``{"error": {"code": "...", "message": "...", "details": {...}}}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from marketplace.errors import DomainError, PermissionDeniedError


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


def error_body(code: str, message, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def _first_code(codes) -> str:
    if isinstance(codes, dict):
        codes = next(iter(codes.values()), "error")
    if isinstance(codes, list):
        codes = codes[0] if codes else "error"
    return codes if isinstance(codes, str) else _first_code(codes)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        details = {"problems": [str(p) for p in exc.problems]} if hasattr(exc, "problems") else {}
        code = status.HTTP_403_FORBIDDEN if isinstance(exc, PermissionDeniedError) else status.HTTP_400_BAD_REQUEST
        return Response(error_body(exc.code, exc.message, details), status=code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("validation_error", _("The request has invalid fields."), details)
    elif isinstance(exc, exceptions.Throttled):
        response.data = error_body("throttled", exc.detail, {"retry_after": exc.wait and int(exc.wait + 0.999)})
    elif isinstance(exc, exceptions.APIException):
        response.data = error_body(_first_code(exc.get_codes()), exc.detail)
    return response


def page_not_found(request, exception):
    """The 404 page (``handler404``): in the one error format for URLs under /api/ that match no
    route (e.g. ``/api/v1/orders/abc/``), the usual page elsewhere."""
    if request.path.startswith("/api/"):
        not_found = exceptions.NotFound()
        return JsonResponse(error_body(not_found.default_code, not_found.detail), status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)
