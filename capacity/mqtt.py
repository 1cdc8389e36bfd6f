"""MQTT ingestion: a consumer of ``spindle/<provider slug>/<device id>/readings`` at QoS 1.

Payload (UTF-8 JSON)::

    {"device": 42, "ts": 1795000000, "readings": [{...}, ...],
     "sig": hex HMAC-SHA256(secret, f"{ts}." + canonical JSON of readings)}

where canonical JSON is ``json.dumps(readings, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` encoded as UTF-8. The broker is not trusted: every message is authenticated
by its signature. Each message is acknowledged (manual ack) only after record_readings has
committed; unauthenticated, malformed or refused messages are logged, stored nowhere and acked
too (redelivering them would not help). A database error leaves the message unacked and drops the
connection, so the broker redelivers it to the persistent session after reconnecting; QoS 1
redeliveries are deduplicated by the readings' unique key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from django.db import close_old_connections, connection
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from capacity.models import Device
from capacity.services import metering
from marketplace.errors import PermissionDeniedError

log = logging.getLogger(__name__)
TOPIC_RE = re.compile(r"^spindle/(?P<slug>[^/]+)/(?P<device>\d+)/readings$")


def canonical_readings(readings) -> bytes:
    return json.dumps(readings, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_message(secret: str, ts: int, readings) -> str:
    return hmac.new(secret.encode(), f"{ts}.".encode() + canonical_readings(readings), hashlib.sha256).hexdigest()


def build_payload(device: Device, secret: str, readings: list[dict], ts: int | None = None) -> bytes:
    """What a gateway publishes (used by tests and the docs' example)."""
    ts = int(time.time()) if ts is None else ts
    return json.dumps(
        {"device": device.pk, "ts": ts, "readings": readings, "sig": sign_message(secret, ts, readings)}
    ).encode()


@dataclass
class Outcome:
    status: str  # "recorded", "unauthenticated", "malformed", "forbidden"
    detail: dict = field(default_factory=dict)


def handle_message(topic: str, payload: bytes) -> Outcome:
    """Authenticate one message and feed its readings to record_readings (commits before returning)."""
    match = TOPIC_RE.match(topic)
    if match is None:
        return Outcome("malformed", {"reason": "topic"})
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Outcome("malformed", {"reason": "json"})
    if not isinstance(message, dict) or not all(k in message for k in ("device", "ts", "readings", "sig")):
        return Outcome("malformed", {"reason": "shape"})
    device_id, ts, sig = message["device"], message["ts"], message["sig"]
    if not (isinstance(device_id, int) and isinstance(ts, int) and isinstance(sig, str)):
        return Outcome("malformed", {"reason": "shape"})
    if str(device_id) != match["device"]:
        return Outcome("unauthenticated", {"reason": "topic device"})
    device = Device.objects.select_related("provider").filter(pk=device_id, revoked_at__isnull=True).first()
    if device is None or device.provider.slug != match["slug"]:
        return Outcome("unauthenticated", {"reason": "device"})
    if not hmac.compare_digest(sign_message(device.secret, ts, message["readings"]), sig.lower()):
        return Outcome("unauthenticated", {"reason": "signature"})
    try:
        readings = metering.parse_batch({"readings": message["readings"]})
        results = metering.record_readings(device=device, readings=readings)
    except metering.BatchShapeError as error:
        return Outcome("malformed", {"reasons": error.reasons})
    except PermissionDeniedError as error:
        return Outcome("forbidden", {"reason": str(error.message)})
    summary = metering.summarise(results)
    return Outcome("recorded", {k: summary[k] for k in ("stored", "duplicates", "rejected")})


class ReadingsConsumer:
    """Subscribes with a persistent session (clean_start=False) and reconnects with exponential
    backoff; runs until stopped by ``max_messages``, ``once`` (idle after subscribing), ``timeout``
    or ``should_stop``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        topic: str,
        client_id: str,
        session_expiry: int = 86400,
        max_messages: int | None = None,
        once: bool = False,
        idle_seconds: float = 2.0,
        timeout: float | None = None,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        should_stop: Callable[[], bool] | None = None,
    ):
        self.host, self.port, self.topic = host, port, topic
        self.session_expiry = session_expiry
        self.max_messages, self.once, self.idle_seconds, self.timeout = max_messages, once, idle_seconds, timeout
        self.initial_backoff, self.max_backoff = initial_backoff, max_backoff
        self.should_stop = should_stop
        self.handled = 0
        self.outcomes: dict[str, int] = {}
        self.connects = 0
        self.subscribed = False
        self.last_activity = time.monotonic()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        client.manual_ack_set(True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    # --- callbacks (run inside client.loop(), in this thread) ---
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("MQTT connect refused: %s", reason_code)
            return
        self.connects += 1
        log.info("MQTT connected to %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.subscribed = True
        self.last_activity = time.monotonic()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.subscribed = False
        log.warning("MQTT disconnected: %s", reason_code)

    def _on_message(self, client, userdata, message):
        if not connection.in_atomic_block:  # a long-running consumer: drop stale or broken connections
            close_old_connections()
        try:
            outcome = handle_message(message.topic, message.payload)
        except Exception:
            # Not acked: drop the connection so the broker redelivers it to our session.
            log.exception("could not record message %s on %s; will be redelivered", message.mid, message.topic)
            client.disconnect()
            return
        client.ack(message.mid, message.qos)
        self.handled += 1
        self.outcomes[outcome.status] = self.outcomes.get(outcome.status, 0) + 1
        self.last_activity = time.monotonic()
        level = logging.INFO if outcome.status == "recorded" else logging.WARNING
        log.log(level, "MQTT %s: %s %s", message.topic, outcome.status, outcome.detail)

    # --- loop ---
    def _done(self, started: float) -> bool:
        if self.max_messages is not None and self.handled >= self.max_messages:
            return True
        if self.timeout is not None and time.monotonic() - started > self.timeout:
            return True
        if self.once and self.subscribed and time.monotonic() - self.last_activity > self.idle_seconds:
            return True
        return bool(self.should_stop and self.should_stop())

    def _connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry
        if self.connects == 0 and not getattr(self, "_tried", False):
            self._tried = True
            self.client.connect(self.host, self.port, keepalive=30, clean_start=False, properties=properties)
        else:
            self.client.reconnect()

    def run(self) -> int:
        started = time.monotonic()
        backoff = self.initial_backoff
        connected = False
        while not self._done(started):
            if not connected:
                try:
                    self._connect()
                    connected = True
                except OSError as error:
                    log.warning(
                        "MQTT broker %s:%s unreachable (%s); retrying in %.1fs", self.host, self.port, error, backoff
                    )
                    time.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
            rc = self.client.loop(timeout=0.1)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                connected = False
                self.subscribed = False
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            elif self.subscribed:
                backoff = self.initial_backoff
        if connected:
            self.client.disconnect()
            self.client.loop(timeout=0.1)
        return self.handled
