"""Device ingestion over HTTP: ``POST /api/v1/devices/readings/``.

Devices have no session: each request is signed. Headers ``X-Spindle-Device`` (device id),
``X-Spindle-Timestamp`` (unix seconds, within ±300 s of the server clock) and
``X-Spindle-Signature`` = hex HMAC-SHA256(secret, f"{timestamp}.{raw body}"). See docs/metering.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from capacity.models import Device
from capacity.services import metering
from marketplace.errors import PermissionDeniedError

log = logging.getLogger(__name__)
TIMESTAMP_TOLERANCE_S = 300


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The signature a device sends (also used by tests and docs examples)."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _unauthorised():
    return JsonResponse({"errors": [_("Unknown device, revoked device or bad signature.")]}, status=401)


def _authenticate(request) -> Device | None:
    device_id = request.headers.get("X-Spindle-Device", "")
    timestamp = request.headers.get("X-Spindle-Timestamp", "")
    signature = request.headers.get("X-Spindle-Signature", "")
    if not (device_id.isdigit() and timestamp.isdigit() and signature):
        return None
    if abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE_S:
        return None
    device = Device.objects.filter(pk=int(device_id), revoked_at__isnull=True).first()
    if device is None:
        return None
    if not hmac.compare_digest(sign(device.secret, timestamp, request.body), signature.lower()):
        return None
    return device


def _rate_limited(device: Device) -> int:
    """Seconds to wait if the device exceeded its requests per minute, else 0."""
    now = time.time()
    window = int(now // 60)
    key = f"readings-rate:{device.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > settings.SPINDLE_READINGS_RATE_PER_MINUTE:
        return max(1, int((window + 1) * 60 - now))
    return 0


@csrf_exempt
@require_POST
def device_readings(request):
    device = _authenticate(request)
    if device is None:
        return _unauthorised()
    retry_after = _rate_limited(device)
    if retry_after:
        response = JsonResponse({"errors": [_("Too many requests; slow down.")]}, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    try:
        payload = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return JsonResponse({"errors": [_("The body is not valid JSON: %(error)s") % {"error": error}]}, status=400)
    try:
        readings = metering.parse_batch(payload)
        results = metering.record_readings(device=device, readings=readings)
    except metering.BatchShapeError as error:
        return JsonResponse({"errors": error.reasons}, status=400)
    except metering.ForeignResourceError as error:
        log.warning("device %s named another provider's resource; batch refused", device.pk)
        return JsonResponse({"errors": [str(error.message)]}, status=403)
    except PermissionDeniedError:
        return _unauthorised()
    return JsonResponse(metering.summarise(results))
