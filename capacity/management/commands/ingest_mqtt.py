"""``python manage.py ingest_mqtt``: record meter readings published over MQTT (see capacity.mqtt)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from capacity.mqtt import ReadingsConsumer


class Command(BaseCommand):
    help = "Subscribe to spindle/+/+/readings at QoS 1 and record the signed readings."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MQTT_HOST)
        parser.add_argument("--port", type=int, default=settings.MQTT_PORT)
        parser.add_argument("--topic", default=settings.MQTT_TOPIC, help="subscription filter")
        parser.add_argument("--client-id", default=settings.MQTT_CLIENT_ID, help="also names the broker session")
        parser.add_argument("--session-expiry", type=int, default=86400, help="seconds the broker keeps our session")
        parser.add_argument("--once", action="store_true", help="stop when idle after subscribing")
        parser.add_argument("--idle", type=float, default=2.0, help="seconds without messages that end --once")
        parser.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
        parser.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
        parser.add_argument("--max-backoff", type=float, default=30.0, help="longest wait between reconnects")

    def handle(self, *args, **options):
        consumer = ReadingsConsumer(
            host=options["host"],
            port=options["port"],
            topic=options["topic"],
            client_id=options["client_id"],
            session_expiry=options["session_expiry"],
            max_messages=options["max_messages"],
            once=options["once"],
            idle_seconds=options["idle"],
            timeout=options["timeout"],
            max_backoff=options["max_backoff"],
        )
        handled = consumer.run()
        self.stdout.write(f"handled {handled} messages: {consumer.outcomes}")
