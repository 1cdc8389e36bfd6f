"""POST /api/v1/devices/readings/: HMAC-signed batches; replay-safe; 401/403/400/429 as documented."""

import json
import time

import pytest
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from capacity.api_metering import sign
from capacity.models import Device, MeterReading
from capacity.services.metering import revoke_device, rotate_device_secret
from tests.capacity.metering_support import device_for, reading
from tests.factories import ResourceFactory

URL = "/api/v1/devices/readings/"
BAD_JSON = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"


@pytest.fixture(autouse=True)
def english(client):
    """Reasons and pages are asserted in English (the site's default language is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def gateway(provider_org, provider_owner):
    return device_for(provider_org, provider_owner)


def post(client, device, secret, body, *, timestamp=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        URL,
        data=raw,
        content_type="application/json",
        headers={
            "X-Spindle-Device": str(device.pk),
            "X-Spindle-Timestamp": timestamp,
            "X-Spindle-Signature": sign(secret, timestamp, raw),
        },
    )


def batch(machine, n=3):
    now = timezone.now()
    return {"readings": [reading(machine, seq, now, run=60 * seq) for seq in range(n)]}


def test_route_name():
    assert reverse("capacity:device_readings_api") == URL


def test_a_signed_batch_is_stored_and_a_replay_adds_no_rows(client, gateway):
    device, secret = gateway
    body = batch(device.resources.get())

    first = post(client, device, secret, body)
    replay = post(client, device, secret, body)

    assert first.status_code == 200
    assert first.json() == {
        "results": [{"index": i, "status": "stored", "reason": ""} for i in range(3)],
        "stored": 3,
        "duplicates": 0,
        "rejected": 0,
    }
    assert replay.status_code == 200
    assert (replay.json()["stored"], replay.json()["duplicates"]) == (0, 3)
    assert MeterReading.objects.count() == 3


def test_a_rejected_reading_is_reported_with_its_reason(client, gateway):
    device, secret = gateway
    machine = device.resources.get()
    body = {"readings": [reading(machine, 1, timezone.now(), run=-5), reading(machine, 2, timezone.now(), run=5)]}

    response = post(client, device, secret, body)

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"index": 0, "status": "rejected", "reason": "run_seconds must be an integer between 0 and 1000000000000."},
        {"index": 1, "status": "stored", "reason": ""},
    ]
    assert list(MeterReading.objects.values_list("seq", flat=True)) == [2]


def test_an_invalid_secret_gets_401_and_nothing_is_stored(client, gateway):
    device, _secret = gateway
    response = post(client, device, "not-the-secret", batch(device.resources.get()))
    assert response.status_code == 401
    assert MeterReading.objects.count() == 0
    assert Device.objects.get(pk=device.pk).last_seen_at is None


def test_unknown_device_stale_timestamp_and_missing_headers_get_401(client, gateway):
    device, secret = gateway
    body = batch(device.resources.get())
    stale = post(client, device, secret, body, timestamp=int(time.time()) - 301)
    device.pk += 1000
    unknown = post(client, device, secret, body)
    bare = client.post(URL, data=json.dumps(body), content_type="application/json")
    assert (stale.status_code, unknown.status_code, bare.status_code) == (401, 401, 401)
    assert MeterReading.objects.count() == 0


def test_rotation_and_revocation_take_effect_at_once(client, gateway, provider_owner):
    device, secret = gateway
    body = batch(device.resources.get())
    new_secret = rotate_device_secret(device=device, user=provider_owner)

    assert post(client, device, secret, body).status_code == 401
    assert post(client, device, new_secret, body).status_code == 200
    revoke_device(device=device, user=provider_owner)
    assert post(client, device, new_secret, {"readings": body["readings"][:1]}).status_code == 401
    assert MeterReading.objects.count() == 3


def test_another_providers_device_gets_403_and_stores_nothing(client, gateway, outsider, other_org):
    device, secret = gateway
    their_machine = ResourceFactory(provider=other_org)
    body = {"readings": [*batch(device.resources.get())["readings"], reading(their_machine, 9, timezone.now(), 1)]}

    response = post(client, device, secret, body)

    assert response.status_code == 403
    assert response.json() == {"errors": ["The batch names a resource of another provider."]}
    assert MeterReading.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (b"{not json", [f"The body is not valid JSON: {BAD_JSON}"]),
        (b"[1, 2]", ["The body must be a JSON object."]),
        (b'{"reading": []}', ['"readings" must be a list.']),
        (b'{"readings": []}', ['"readings" is empty.']),
        (b'{"readings": [1, "x", {}]}', ["Readings at positions 0, 1 are not JSON objects."]),
        (json.dumps({"readings": [{}] * 5001}).encode(), ["At most 5000 readings per request."]),
    ],
)  # fmt: skip
def test_malformed_bodies_get_400_with_the_reasons(client, gateway, body, errors):
    device, secret = gateway
    response = post(client, device, secret, body)
    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert MeterReading.objects.count() == 0


@override_settings(SPINDLE_READINGS_RATE_PER_MINUTE=2)
def test_a_device_over_its_rate_gets_429_with_retry_after(client, gateway):
    device, secret = gateway
    body = batch(device.resources.get(), n=1)
    if time.time() % 60 > 55:  # the limit counts per clock minute: keep the four requests in one
        time.sleep(61 - time.time() % 60)
    codes = [post(client, device, secret, body).status_code for _ in range(3)]
    limited = post(client, device, secret, body)
    assert codes[:2] == [200, 200]
    assert codes[2] == limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert MeterReading.objects.count() == 1


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_the_api_answers_in_the_requested_language(client, gateway):
    device, _secret = gateway
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    with translation.override("zh-hans"):
        response = post(client, device, "wrong", {"readings": []})
    assert response.json() == {"errors": ["设备未知、已吊销或签名无效。"]}
