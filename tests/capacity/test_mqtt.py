"""MQTT ingestion: signed messages authenticated one by one, acknowledged after commit, a real
broker round trip, and a broker restart mid-stream that loses and duplicates nothing."""

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from io import StringIO
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from paho.mqtt.enums import CallbackAPIVersion

from capacity.models import MeterReading
from capacity.mqtt import ReadingsConsumer, build_payload, handle_message, sign_message
from capacity.services.metering import compute_booking_usage, revoke_device
from tests.capacity.metering_support import booking, device_for, reading
from tests.conftest import skip_unless_ci
from tests.factories import OrganisationFactory, ResourceFactory, UserFactory

SHARED_BROKER = ("127.0.0.1", 1883)

# Debian installs the broker in /usr/sbin, which is not on every user's PATH.
MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


@pytest.fixture(autouse=True)
def english(client):
    """Reasons and pages are asserted in English (the site's default language is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def gateway(provider_org, provider_owner):
    return device_for(provider_org, provider_owner)


def topic_of(device):
    return f"spindle/{device.provider.slug}/{device.pk}/readings"


def readings_for(device, first_seq, n=2, step_s=60):
    machine = device.resources.get()
    start = timezone.now().replace(microsecond=0) - timezone.timedelta(hours=1)
    return [
        reading(machine, seq, start + timezone.timedelta(seconds=step_s * seq), run=step_s * seq)
        for seq in range(first_seq, first_seq + n)
    ]


# --- one message at a time ---------------------------------------------------------------------


def test_a_signed_message_is_recorded_once(gateway):
    device, secret = gateway
    payload = build_payload(device, secret, readings_for(device, 0, n=3))

    first = handle_message(topic_of(device), payload)
    again = handle_message(topic_of(device), payload)  # a QoS 1 redelivery

    assert (first.status, first.detail) == ("recorded", {"stored": 3, "duplicates": 0, "rejected": 0})
    assert (again.status, again.detail) == ("recorded", {"stored": 0, "duplicates": 3, "rejected": 0})
    assert MeterReading.objects.count() == 3


def test_the_signature_covers_the_readings_canonically(gateway):
    device, secret = gateway
    readings = readings_for(device, 0)
    message = json.loads(build_payload(device, secret, readings, ts=1700000000))
    assert message["sig"] == sign_message(secret, 1700000000, json.loads(json.dumps(readings)))
    message["readings"][0]["run_seconds"] += 1  # tampered in transit

    outcome = handle_message(topic_of(device), json.dumps(message).encode())

    assert (outcome.status, outcome.detail) == ("unauthenticated", {"reason": "signature"})
    assert MeterReading.objects.count() == 0


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("spindle/someone-else/{id}/readings", ("unauthenticated", {"reason": "device"})),
        ("spindle/{slug}/999999/readings", ("unauthenticated", {"reason": "topic device"})),
        ("spindle/{slug}/{id}/status", ("malformed", {"reason": "topic"})),
    ],
)
def test_the_topic_must_name_the_devices_provider_and_id(gateway, topic, expected):
    device, secret = gateway
    topic = topic.format(slug=device.provider.slug, id=device.pk)
    outcome = handle_message(topic, build_payload(device, secret, readings_for(device, 0)))
    assert (outcome.status, outcome.detail) == expected
    assert MeterReading.objects.count() == 0


def test_malformed_foreign_and_revoked_messages_store_nothing(gateway, provider_owner, other_org):
    device, secret = gateway
    foreign = [reading(ResourceFactory(provider=other_org), 5, timezone.now(), 10)]

    assert handle_message(topic_of(device), b"\xff not json").status == "malformed"
    assert handle_message(topic_of(device), b'{"device": 1}').status == "malformed"
    assert handle_message(topic_of(device), build_payload(device, secret, foreign)).status == "forbidden"
    revoke_device(device=device, user=provider_owner)
    assert handle_message(topic_of(device), build_payload(device, secret, readings_for(device, 0))).status == (
        "unauthenticated"
    )
    assert MeterReading.objects.count() == 0


# --- real brokers ------------------------------------------------------------------------------


def _reachable(host, port) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _publisher(host, port):
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"spindle-test-gw-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    client.reconnect_delay_set(min_delay=0.1, max_delay=1)
    client.connect(host, port)
    client.loop_start()
    return client


def _forget_session(host, port, client_id):
    """Drop the persistent session a test consumer left on the shared broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(host, port, clean_start=True)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


def _isolated_provider():
    """A provider with a unique slug, so this test's topic is its own on a shared broker."""
    provider = OrganisationFactory(slug=f"mqtt-test-{uuid.uuid4().hex[:10]}")
    owner = UserFactory()
    provider.memberships.create(user=owner, role="owner")
    return device_for(provider, owner)


@pytest.mark.slow
def test_round_trip_through_the_machines_broker(db):
    host, port = SHARED_BROKER
    if not _reachable(host, port):
        skip_unless_ci(f"no MQTT broker at {host}:{port}")
    device, secret = _isolated_provider()
    machine = device.resources.get()
    start = timezone.now().replace(microsecond=0) - timezone.timedelta(hours=2)
    slot = booking(machine, start, start + timezone.timedelta(hours=1))
    client_id = f"spindle-test-ingest-{uuid.uuid4().hex[:8]}"
    options = {"host": host, "port": port, "topic": f"spindle/{device.provider.slug}/+/readings",
               "client_id": client_id, "session_expiry": 120, "stdout": StringIO()}  # fmt: skip
    try:
        # First run: subscribe (the broker keeps the session), nothing to read yet.
        call_command("ingest_mqtt", once=True, idle=0.3, timeout=10, **options)
        publisher = _publisher(host, port)
        batches = [
            [reading(machine, 0, start - timezone.timedelta(minutes=30), run=100)],
            [reading(machine, 1, start + timezone.timedelta(minutes=30), run=100 + 1800)],
            [reading(machine, 2, start + timezone.timedelta(minutes=90), run=100 + 3600)],
        ]
        for readings in batches:
            publisher.publish(topic_of(device), build_payload(device, secret, readings), qos=1).wait_for_publish(5)
        publisher.disconnect()
        publisher.loop_stop()

        out = StringIO()
        call_command("ingest_mqtt", max_messages=3, timeout=20, **{**options, "stdout": out})
    finally:
        _forget_session(host, port, client_id)

    assert out.getvalue().strip() == "handled 3 messages: {'recorded': 3}"
    assert sorted(MeterReading.objects.values_list("seq", "run_seconds")) == [(0, 100), (1, 1900), (2, 3700)]
    usage = compute_booking_usage(booking=slot)
    # 100→1900 over 09:30–10:30 is half inside; 1900→3700 over 10:30–11:30 is half inside.
    assert usage.run_seconds == 1800
    assert usage.overrun_run_seconds == 1800


class Broker:
    """A private mosquitto on a free port. Persistence lives in a temp directory so that a restart
    (SIGTERM saves the state) keeps the consumer's session and its queued QoS 1 messages — the
    configuration production needs for no loss across broker restarts (see docs/metering.md)."""

    def __init__(self):
        self.port = _free_port()
        # Run as root, mosquitto drops to its own user: its directory must be reachable and writable.
        self.dir = Path(tempfile.mkdtemp(prefix="spindle-mqtt-", dir="/tmp"))
        self.dir.chmod(0o777)
        tmp_path = self.dir
        self.conf = tmp_path / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {tmp_path}/\nautosave_interval 1\n"
        )
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not _reachable("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.slow
def test_a_broker_restart_mid_stream_loses_and_duplicates_nothing(db):
    if MOSQUITTO is None:
        skip_unless_ci("mosquitto is not installed (Debian: apt-get install mosquitto)")
    broker = Broker()
    broker.start()
    device, secret = _isolated_provider()
    machine = device.resources.get()
    start = timezone.now().replace(microsecond=0) - timezone.timedelta(hours=3)
    messages = 12
    expected = [(seq, 60 * seq) for seq in range(messages * 2)]
    payloads = [
        build_payload(
            device,
            secret,
            [
                reading(machine, seq, start + timezone.timedelta(minutes=seq), run=60 * seq)
                for seq in (2 * i, 2 * i + 1)
            ],
        )
        for i in range(messages)
    ]
    consumer = ReadingsConsumer(
        host="127.0.0.1",
        port=broker.port,
        topic=f"spindle/{device.provider.slug}/+/readings",
        client_id=f"spindle-test-ingest-{uuid.uuid4().hex[:8]}",
        initial_backoff=0.1,
        max_backoff=1.0,
        timeout=60,
        should_stop=lambda: MeterReading.objects.filter(device=device).count() >= len(expected),
    )
    problems = []

    def gateway():
        try:
            deadline = time.monotonic() + 20
            while not consumer.subscribed:
                assert time.monotonic() < deadline, "consumer never subscribed"
                time.sleep(0.05)
            publisher = _publisher("127.0.0.1", broker.port)
            for i, payload in enumerate(payloads):
                publisher.publish(topic_of(device), payload, qos=1)
                time.sleep(0.05)
                if i == messages // 2:
                    broker.stop()  # mid-stream: messages in flight, consumer and gateway cut off
                    time.sleep(0.5)
                    broker.start()
            deadline = time.monotonic() + 30
            while publisher._out_messages and time.monotonic() < deadline:  # all PUBACKed by the broker
                time.sleep(0.05)
            publisher.disconnect()
            publisher.loop_stop()
        except Exception as error:  # surfaced in the main thread
            problems.append(error)

    thread = threading.Thread(target=gateway, daemon=True)
    thread.start()
    try:
        consumer.run()
        # Keep listening a moment: any late QoS 1 redelivery must be absorbed as a duplicate.
        consumer.once, consumer.idle_seconds, consumer.should_stop = True, 1.0, None
        consumer.timeout = None
        consumer.run()
        thread.join(timeout=40)
    finally:
        broker.remove()

    assert problems == []
    assert consumer.connects >= 2  # it reconnected after the restart
    assert sorted(MeterReading.objects.filter(device=device).values_list("seq", "run_seconds")) == expected
    assert consumer.outcomes.get("recorded", 0) >= messages
    assert set(consumer.outcomes) == {"recorded"}
