"""record_readings: stored once, duplicates accepted, bad readings reported and stored nowhere."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test.utils import override_settings
from django.utils import translation

from capacity.models import Device, MeterReading
from capacity.services.metering import ForeignResourceError, record_readings
from tests.capacity.metering_support import at, device_for, reading
from tests.factories import ResourceFactory

NOW = at(hours=1)
BAD_TIME = "device_time must be unix seconds or an ISO 8601 time with a UTC offset."


@pytest.fixture(autouse=True)
def english(client):
    """Reasons and pages are asserted in English (the site's default language is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def gateway(provider_org, provider_owner):
    device, _secret = device_for(provider_org, provider_owner)
    return device


def statuses(results):
    return [(r.index, r.status) for r in results]


def test_a_batch_is_stored_once_and_a_replay_changes_nothing(gateway):
    machine = gateway.resources.get()
    batch = [reading(machine, seq, at(seq), run=60 * seq) for seq in range(5)]

    first = record_readings(device=gateway, readings=batch, now=NOW)
    replay = record_readings(device=gateway, readings=batch, now=NOW + timedelta(minutes=1))

    assert statuses(first) == [(i, "stored") for i in range(5)]
    assert statuses(replay) == [(i, "duplicate") for i in range(5)]
    assert MeterReading.objects.count() == 5
    assert list(MeterReading.objects.order_by("seq").values_list("seq", "run_seconds")) == [
        (0, 0), (1, 60), (2, 120), (3, 180), (4, 240),
    ]  # fmt: skip


def test_repeats_inside_one_batch_are_duplicates_of_the_first(gateway):
    machine = gateway.resources.get()
    batch = [reading(machine, 1, at(1), run=60), reading(machine, 1, at(1), run=60), reading(machine, 2, at(2), 120)]

    results = record_readings(device=gateway, readings=batch, now=NOW)

    assert statuses(results) == [(0, "stored"), (1, "duplicate"), (2, "stored")]
    assert MeterReading.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"run_seconds": -1}, "run_seconds must be an integer between 0 and 1000000000000."),
        ({"part_count": 1.5}, "part_count must be an integer between 0 and 1000000000000."),
        ({"run_seconds": True}, "run_seconds must be an integer between 0 and 1000000000000."),
        ({"run_seconds": 10**13}, "run_seconds must be an integer between 0 and 1000000000000."),
        ({"seq": -3}, "seq must be an integer ≥ 0."),
        ({"boot_id": ""}, "boot_id must be a non-empty text of at most 64 characters."),
        ({"boot_id": "x" * 65}, "boot_id must be a non-empty text of at most 64 characters."),
        ({"device_time": "2026-12-07T08:00:00"}, BAD_TIME),
        ({"device_time": "yesterday"}, BAD_TIME),
        ({"device_time": at(66).isoformat()}, "device_time is more than 5 minutes in the future."),
        ({"device_time": at(hours=-36 * 24).isoformat()}, "device_time is older than the 35-day late-data limit."),
        ({"alarm": "yes"}, "alarm must be true or false."),
        ({"colour": "red"}, "Unknown fields: colour."),
        ({"resource": "one"}, "resource must be the resource's id (an integer)."),
    ],
)  # fmt: skip
def test_a_rejected_reading_is_reported_and_stored_nowhere(gateway, change, reason):
    machine = gateway.resources.get()
    bad = {**reading(machine, 7, at(7), run=420), **change}
    good = reading(machine, 8, at(8), run=480)

    results = record_readings(device=gateway, readings=[bad, good], now=NOW)

    assert [(r.status, r.reason) for r in results] == [("rejected", reason), ("stored", "")]
    assert list(MeterReading.objects.values_list("seq", flat=True)) == [8]


def test_future_tolerance_is_five_minutes_and_the_watermark_is_a_setting(gateway):
    machine = gateway.resources.get()
    edge = reading(machine, 1, NOW + timedelta(minutes=5), run=1)
    with override_settings(SPINDLE_READINGS_WATERMARK_DAYS=2):
        old = reading(machine, 2, NOW - timedelta(days=2, seconds=1), run=2)
        results = record_readings(device=gateway, readings=[edge, old], now=NOW)
    assert [r.status for r in results] == ["stored", "rejected"]
    assert results[1].reason == "device_time is older than the 2-day late-data limit."


def test_unix_seconds_are_accepted_as_device_time(gateway):
    machine = gateway.resources.get()
    results = record_readings(
        device=gateway, readings=[{**reading(machine, 1, at(), 5), "device_time": int(at(3).timestamp())}], now=NOW
    )
    assert [r.status for r in results] == ["stored"]
    assert MeterReading.objects.get().device_time == at(3)


def test_a_resource_not_bound_to_the_device_is_rejected(gateway, provider_org):
    unbound = ResourceFactory(provider=provider_org)
    results = record_readings(device=gateway, readings=[reading(unbound, 1, at(1), 60)], now=NOW)
    assert [(r.status, r.reason) for r in results] == [
        ("rejected", f"Resource {unbound.pk} is not bound to this device.")
    ]
    assert MeterReading.objects.count() == 0


def test_another_providers_resource_refuses_the_whole_batch(gateway):
    machine = gateway.resources.get()
    foreign = ResourceFactory()
    batch = [reading(machine, 1, at(1), 60), reading(foreign, 2, at(2), 120)]

    with pytest.raises(ForeignResourceError):
        record_readings(device=gateway, readings=batch, now=NOW)

    assert MeterReading.objects.count() == 0
    assert Device.objects.get(pk=gateway.pk).last_seen_at is None


def test_last_seen_and_clock_skew_come_from_the_newest_reading(gateway):
    machine = gateway.resources.get()
    batch = [reading(machine, 2, at(50), 120), reading(machine, 1, at(20), 60)]

    record_readings(device=gateway, readings=batch, now=NOW)

    gateway.refresh_from_db()
    assert gateway.last_seen_at == NOW
    assert gateway.last_clock_skew_s == 600  # received 10 minutes after the newest device time
    assert gateway.clock_skew_warning is True


def test_a_large_batch_is_one_insert_statement(gateway, django_assert_max_num_queries):
    machine = gateway.resources.get()
    batch = [reading(machine, seq, at(seq / 100), run=seq) for seq in range(5000)]
    with django_assert_max_num_queries(8):
        results = record_readings(device=gateway, readings=batch, now=NOW)
    assert {r.status for r in results} == {"stored"}
    assert MeterReading.objects.count() == 5000


def test_readings_are_immutable(gateway):
    machine = gateway.resources.get()
    record_readings(device=gateway, readings=[reading(machine, 1, at(1), 60)], now=NOW)

    with pytest.raises(IntegrityError, match="meter readings are immutable"), transaction.atomic():
        MeterReading.objects.update(run_seconds=99999)
    with pytest.raises(IntegrityError, match="meter readings are immutable"), transaction.atomic():
        MeterReading.objects.all()._raw_delete(MeterReading.objects.db)

    assert list(MeterReading.objects.values_list("run_seconds", flat=True)) == [60]


def test_a_revoked_device_records_nothing(gateway, provider_owner):
    from capacity.services.metering import revoke_device
    from marketplace.errors import PermissionDeniedError

    revoke_device(device=gateway, user=provider_owner, now=NOW)
    gateway.refresh_from_db()
    with pytest.raises(PermissionDeniedError):
        record_readings(device=gateway, readings=[reading(gateway.resources.get(), 1, at(1), 60)], now=NOW)
    assert MeterReading.objects.count() == 0
