"""Test settings: the project's settings with a test secret and faster password hashing."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)

from marketplace.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
SECURE_SSL_REDIRECT = False

# The Celery integration test starts a real worker against this Redis; every other test runs
# tasks eagerly, whatever CELERY_BROKER_URL says.
SPINDLE_TEST_REDIS_URL = os.environ.get("SPINDLE_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
CELERY_TASK_ALWAYS_EAGER = True
