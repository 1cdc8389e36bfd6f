"""A real Celery worker against Redis: a notification enqueued on commit is delivered by the worker."""

import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from marketplace import services
from marketplace.celery import app
from marketplace.models import Notification
from marketplace.tasks import deliver_notification
from tests.conftest import database_url, skip_unless_ci, subprocess_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def broker_url():
    url = settings.SPINDLE_TEST_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        skip_unless_ci(f"no Redis at {url} ({error}); set SPINDLE_TEST_REDIS_URL")
    return url


@contextmanager
def worker_process(broker_url: str, **env_overrides):
    """A Celery worker subprocess on a queue of its own, with tasks of this process routed to
    it; ``env_overrides`` are extra environment variables for the worker's settings."""
    queue = f"spindle-test-{uuid.uuid4().hex[:10]}"
    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="marketplace.settings",
        SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=broker_url,
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        **env_overrides,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "result_backend", "task_default_queue")}
    app.conf.update(task_always_eager=False, broker_url=broker_url, result_backend=broker_url, task_default_queue=queue)
    _drop_connections()
    try:
        yield process
    finally:
        app.conf.update(saved)
        _drop_connections()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def worker(broker_url):
    with worker_process(broker_url) as process:
        yield process


def _drop_connections():
    """Eager tasks still open a producer pool on the configured (memory) broker; forget it so the
    next task connects with the configuration set here. kombu keeps connection pools in a global
    registry keyed by broker: closing only the app's pool would leave a closed pool there, which
    every later task on the memory broker would be handed ("Acquire on closed pool")."""
    kombu_pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_a_real_worker(worker, provider_owner, provider_org):
    notification = services.notify(user=provider_owner, organisation=provider_org, kind="test", title="Round trip")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        notification.refresh_from_db()
        if notification.emailed_at is not None:
            break
        assert worker.poll() is None, worker.stdout.read().decode()
        time.sleep(0.2)
    if notification.emailed_at is None:
        worker.terminate()
        pytest.fail("the worker did not deliver the notification:\n" + worker.communicate(timeout=15)[0].decode())

    # A result travels back through Redis: a second delivery of the same notification is refused.
    # (Not set as the current app, and closed after: it must not leak its pools into later tests.)
    client = Celery(broker=app.conf.broker_url, backend=app.conf.broker_url, set_as_current=False)
    try:
        result = client.send_task(deliver_notification.name, args=[notification.pk], queue=app.conf.task_default_queue)
        assert result.get(timeout=30) is False
    finally:
        client.close()
    assert Notification.objects.filter(pk=notification.pk, emailed_at__isnull=False).count() == 1
