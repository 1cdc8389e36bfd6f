"""Spindle settings.

Everything that differs between machines comes from environment variables (see the README's
configuration table). The defaults are safe for development: DEBUG is off unless asked for,
and with no DATABASE_URL the project runs on its own embedded PostgreSQL (marketplace.devdb).
"""

import os
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = "django-insecure-local-development-only-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
ENCRYPTION_KEY = env("ENCRYPTION_KEY")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "marketplace",
    "capacity",
    "billing",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "marketplace.middleware.ActiveOrganisationMiddleware",
    "marketplace.middleware.OperatorMFAMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.context_processors.spindle",
            ],
            "builtins": ["marketplace.templatetags.spindle"],
        },
    }
]

# --- Database: PostgreSQL only (range types, exclusion constraints, GiST and trigram indexes).
if env("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"), conn_max_age=60)}
else:
    from marketplace import devdb

    DATABASES = {"default": devdb.database_settings()}
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts (django-allauth): email is the login, verification is mandatory, MFA by TOTP.
AUTH_USER_MODEL = "marketplace.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# A duplicate signup gets a clear "already registered" error instead of allauth's silent
# enumeration-proof flow: for a B2B market, clarity at signup matters more than hiding which
# company addresses have accounts.
ACCOUNT_PREVENT_ENUMERATION = False
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Spindle] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
ACCOUNT_ADAPTER = "marketplace.adapters.AccountAdapter"
MFA_ADAPTER = "marketplace.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Spindle"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# --- Email: console backend unless SMTP is configured.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Spindle <noreply@spindle.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation: Simplified Chinese and English, Asia/Shanghai, CNY.
LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
SPINDLE_DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", "CNY")
SPINDLE_CURRENCIES = ["CNY", "USD", "EUR", "HKD", "JPY"]

# --- Static and uploaded files. Assets are vendored under static/ (no CDN at run time).
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded files are private: MEDIA_ROOT is never served directly; views check access first.
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# --- Celery: with no broker configured, tasks run eagerly in-process.
CELERY_TASK_ALWAYS_EAGER = not env("CELERY_BROKER_URL")
# Even eager tasks open a producer: point it at the in-memory transport rather than letting
# Celery default to an AMQP server on localhost.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "" if CELERY_TASK_ALWAYS_EAGER else CELERY_BROKER_URL) or None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}
# Availability: keep idle windows materialised 13 weeks ahead (capacity.services.availability).
CELERY_BEAT_SCHEDULE["roll-idle-windows"] = {
    "task": "capacity.tasks.roll_idle_windows",
    "schedule": crontab(hour=1, minute=30),
}
# Matching: providers who chose a daily digest hear about matched orders at 08:00 (TIME_ZONE).
CELERY_BEAT_SCHEDULE["send-match-digests"] = {
    "task": "marketplace.tasks.send_match_digests",
    "schedule": crontab(hour=8, minute=0),
}

# Operator console: hourly trade flags and the daily certificate-expiry job (marketplace.services.ops).
SPINDLE_FLAG_FIRST_TRADE_AMOUNT = env("SPINDLE_FLAG_FIRST_TRADE_AMOUNT", "50000.00")
CELERY_BEAT_SCHEDULE["flag-trades"] = {
    "task": "marketplace.tasks.flag_trades",
    "schedule": crontab(minute=15),
}
CELERY_BEAT_SCHEDULE["certificate-expiry"] = {
    "task": "marketplace.tasks.process_certificate_expiry",
    "schedule": crontab(hour=6, minute=30),
}

# --- Stripe (payments land with the billing issue).
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env("STRIPE_API_BASE")
# Connect calls (accounts, account links, transfers, reversals) and balance transactions;
# empty: the same as STRIPE_API_BASE.
STRIPE_CONNECT_API_BASE = env("STRIPE_CONNECT_API_BASE")
# The one external script of the site: Stripe.js, loaded only on the card payment page.
STRIPE_JS_URL = env("STRIPE_JS_URL", "https://js.stripe.com/v3/")
# 0 in tests; the SDK's own retries are safe because every create call carries an idempotency key.
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)

# --- REST framework
REST_FRAMEWORK = {
    # The API key first: an anonymous request is answered 401 with "WWW-Authenticate: Bearer".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.api.auth.ApiKeyAuthentication",
        "marketplace.api.auth.BrowsableSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "marketplace.api.auth.KeyScope"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "marketplace.api.pagination.NewestFirst",
    "DEFAULT_THROTTLE_CLASSES": ["marketplace.api.auth.ApiKeyThrottle"],
    "EXCEPTION_HANDLER": "marketplace.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "marketplace.api.schema.SpindleAutoSchema",
}
# Requests per API key (DRF rate syntax: "600/min", "10000/day").
SPINDLE_API_KEY_RATE = env("SPINDLE_API_KEY_RATE", "600/min")
# Outgoing webhooks (marketplace.services.webhooks): plain http is accepted only for
# localhost/127.0.0.1 receivers, and only in development (tests switch it on explicitly).
SPINDLE_WEBHOOK_ALLOW_LOCAL_HTTP = env_bool("SPINDLE_WEBHOOK_ALLOW_LOCAL_HTTP", DEBUG)
# Pending deliveries whose retry message was lost (a worker died mid-attempt) are re-enqueued.
CELERY_BEAT_SCHEDULE["retry-webhook-deliveries"] = {
    "task": "marketplace.tasks.enqueue_due_webhook_deliveries",
    "schedule": crontab(minute="*/5"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Spindle API",
    "DESCRIPTION": (
        "Shared manufacturing capacity: resources, orders, matching, trades, bookings, quotes and metering. "
        "Authenticate with an organisation API key: `Authorization: Bearer spk_<prefix>_<secret>`. "
        'Errors always look like `{"error": {"code", "message", "details"}}`. '
        "Creating POSTs accept an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Vendored assets (static/vendor/), no CDN.
    "SWAGGER_UI_DIST": "/" + STATIC_URL.strip("/") + "/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/" + STATIC_URL.strip("/") + "/vendor/swagger-ui/favicon-32x32.png",
    "REDOC_DIST": "/" + STATIC_URL.strip("/") + "/vendor/redoc",
    "ENUM_NAME_OVERRIDES": {
        "ResourceStatusEnum": "capacity.models.Resource.Status",
        "BillingUnitEnum": "capacity.models.Resource.BillingUnit",
        "OrderStatusEnum": "marketplace.models.Order.Status",
        "TradeStatusEnum": "marketplace.models.Trade.Status",
        "MatchRunStatusEnum": "marketplace.models.MatchRun.Status",
        "InvitationStatusEnum": "marketplace.models.RFQInvitation.Status",
        "QuoteStatusEnum": "marketplace.models.Quote.Status",
        "CapacityKindEnum": "capacity.models.Category.Kind",
        "WebhookEventEnum": "marketplace.models.WebhookEvent",
        "WebhookDeliveryStatusEnum": "marketplace.models.WebhookDelivery.Status",
        "DeviceKindEnum": "capacity.models.Device.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "marketplace.api.schema.add_device_readings",
    ],
}

# --- Security. With DEBUG off these defaults pass `manage.py check --deploy`;
# behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_ENABLED=1.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Upload limits; the drawing limit is checked by content and size in the orders issue.
SPINDLE_MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 50)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # Eager tasks (no broker) would log every success at INFO.
    "loggers": {"pgserver": {"level": "WARNING"}, "celery.app.trace": {"level": "WARNING"}},
}

# --- Metering (capacity.services.metering, ingest_mqtt)
SPINDLE_READINGS_WATERMARK_DAYS = env_int("SPINDLE_READINGS_WATERMARK_DAYS", 35)
SPINDLE_READINGS_RATE_PER_MINUTE = env_int("SPINDLE_READINGS_RATE_PER_MINUTE", 60)
SPINDLE_CLOCK_SKEW_WARN_S = env_int("SPINDLE_CLOCK_SKEW_WARN_S", 120)
SPINDLE_USAGE_FINAL_AFTER_HOURS = env_int("SPINDLE_USAGE_FINAL_AFTER_HOURS", 48)
# Usage of a trade's booking becomes final at the later of this and the trade's completion.
SPINDLE_USAGE_FINALITY = "marketplace.selectors.trade_usage.usage_final_at"
MQTT_HOST = env("MQTT_HOST", "127.0.0.1")
MQTT_PORT = env_int("MQTT_PORT", 1883)
MQTT_TOPIC = env("MQTT_TOPIC", "spindle/+/+/readings")
MQTT_CLIENT_ID = env("MQTT_CLIENT_ID", "spindle-ingest")
CELERY_BEAT_SCHEDULE["capacity-finalise-usage"] = {
    "task": "capacity.tasks.finalise_due_usage",
    "schedule": 15 * 60,
}
# --- Trades: VAT by kind of service (13 % processing, 6 % testing and metrology), the
# platform's commission, the cancellation policy snapshotted on every trade, RFQ fan-out.
SPINDLE_VAT_RATES = {"production": "0.13", "testing": "0.06", "metrology": "0.06"}
SPINDLE_COMMISSION = {"rate": "0.05", "min": "10.00", "max": "5000.00"}
SPINDLE_FREE_CANCELLATION_HOURS = env_int("FREE_CANCELLATION_HOURS", 48)
SPINDLE_CANCELLATION_FEE_PERCENT = "20"
SPINDLE_RFQ_MAX = env_int("RFQ_MAX", 5)
SPINDLE_ON_TIME_TOLERANCE_HOURS = 24
# Stale holds stop blocking at once in book_slices; this sweep tidies the rest every minute.
CELERY_BEAT_SCHEDULE["expire-stale-holds"] = {
    "task": "capacity.tasks.expire_stale_holds",
    "schedule": 60.0,
}
# --- Invoicing and bank transfer (对公转账): payment terms, the platform's collection account
# shown on every invoice, and the daily overdue sweep (billing.tasks).
SPINDLE_INVOICE_PAYMENT_TERMS_DAYS = env_int("INVOICE_PAYMENT_TERMS_DAYS", 30)
SPINDLE_PLATFORM_BANK = {
    "account_name": env("PLATFORM_BANK_ACCOUNT_NAME", "Spindle Manufacturing Network Co., Ltd."),
    "account_name_zh": env("PLATFORM_BANK_ACCOUNT_NAME_ZH", "思平德制造网络有限公司"),
    "bank": env("PLATFORM_BANK_NAME", "China Merchants Bank, Suzhou Industrial Park Branch"),
    "bank_zh": env("PLATFORM_BANK_NAME_ZH", "招商银行苏州工业园区支行"),
    "account_number": env("PLATFORM_BANK_ACCOUNT", "5129 0000 0000 0001"),
    "swift": env("PLATFORM_BANK_SWIFT", "CMBCCNBS"),
}
CELERY_BEAT_SCHEDULE["billing-mark-overdue"] = {
    "task": "billing.tasks.mark_overdue_invoices",
    "schedule": crontab(hour=9, minute=0),
}
# Stripe: reconcile yesterday's balance transactions with the ledger at 03:30 (TIME_ZONE).
CELERY_BEAT_SCHEDULE["billing-reconcile-stripe"] = {
    "task": "billing.tasks.reconcile_stripe",
    "schedule": crontab(hour=3, minute=30),
}
# Month-end period invoices of long rentals (billing.services.periods): hourly on the 1st and 2nd
# (TIME_ZONE), each pass adding providers whose own month closed at least the grace period ago
# (late readings); re-runs resume and never issue twice.
SPINDLE_PERIOD_RUN_GRACE_HOURS = env_int("PERIOD_RUN_GRACE_HOURS", 2)
# Trades per transaction of the run (a killed worker loses at most one uncommitted batch).
SPINDLE_PERIOD_RUN_BATCH = env_int("PERIOD_RUN_BATCH", 200)
# Test hook only: seconds each batch of the run holds its transaction open (the killed-worker test).
SPINDLE_PERIOD_RUN_ITEM_DELAY_S = float(env("SPINDLE_PERIOD_RUN_ITEM_DELAY_S", "0") or 0)
CELERY_BEAT_SCHEDULE["billing-period-invoices"] = {
    "task": "billing.tasks.run_period_invoices",
    "schedule": crontab(minute=5, day_of_month="1,2"),
}
