"""Matching: operator-tunable ranking weights (a singleton row), match runs and their stored
matches, and how providers hear about orders that match them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_WEIGHT = {
    "max_digits": 5,
    "decimal_places": 2,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
}


class MatchingWeights(models.Model):
    """How much each term counts in a match's score (see ``marketplace.matching.ranking``).

    Only relative sizes matter: the score divides by the sum of the weights. There is one row
    (pk 1); :meth:`load` creates it with the defaults when missing.
    """

    SINGLETON_PK = 1

    price = models.DecimalField(_("price weight"), default=Decimal("0.40"), **_WEIGHT)
    finish = models.DecimalField(_("finish time weight"), default=Decimal("0.25"), **_WEIGHT)
    distance = models.DecimalField(_("distance weight"), default=Decimal("0.15"), **_WEIGHT)
    reputation = models.DecimalField(_("reputation weight"), default=Decimal("0.10"), **_WEIGHT)
    idle = models.DecimalField(_("idle machine weight"), default=Decimal("0.10"), **_WEIGHT)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "marketplace"
        verbose_name = _("matching weights")
        verbose_name_plural = _("matching weights")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="matching_weights_singleton")]

    def __str__(self) -> str:
        return str(_("Matching weights"))

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)

    @classmethod
    def load(cls, using: str = "default") -> MatchingWeights:
        weights, _created = cls.objects.using(using).get_or_create(pk=cls.SINGLETON_PK)
        return weights

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in ("price", "finish", "distance", "reputation", "idle")}


class MatchRun(models.Model):
    """One run of the matching engine for an order: queued by the buyer (or a service), claimed
    by a worker, and either done (with its ranked :class:`Match` rows, or a split plan, or the
    reason nothing matched) or failed. An order's current matches are its latest done run's.

    Texts are stored in both languages ({"zh-hans": ..., "en": ...}) so the page shows them in
    the reader's language without re-running the engine.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    order = models.ForeignKey("marketplace.Order", on_delete=models.CASCADE, related_name="match_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The moment matching looked from and the due date it looked to (the timeline pictures' axis).
    as_of = models.DateTimeField(_("as of"), null=True, blank=True)
    due_at = models.DateTimeField(_("due date"), null=True, blank=True)
    error = models.JSONField(_("error"), default=dict, blank=True)
    no_match = models.JSONField(_("why nothing matched"), null=True, blank=True)
    split_plan = models.JSONField(_("split plan"), null=True, blank=True)
    # Providers of the split plan's parts (they may see the order like matched providers).
    split_providers = ArrayField(models.IntegerField(), default=list, blank=True)

    class Meta:
        app_label = "marketplace"
        verbose_name = _("match run")
        verbose_name_plural = _("match runs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["order", "status", "finished_at"], name="matchrun_order_done_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="matchrun_progress_max"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class Match(models.Model):
    """One resource that can do an order, as a run found it: rank, score, priced, timed, explained.

    ``order`` and ``provider`` are denormalised from ``run`` and ``resource`` so a provider's
    matched orders are one indexed lookup. Money in ``price`` is stored as strings (exact
    Decimals); ``slots`` and ``free_windows`` are ``[[start ISO, end ISO], …]``.
    """

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="matches")
    order = models.ForeignKey("marketplace.Order", on_delete=models.CASCADE, related_name="matches")
    resource = models.ForeignKey("capacity.Resource", on_delete=models.CASCADE, related_name="matches")
    provider = models.ForeignKey(
        "marketplace.Organisation", on_delete=models.CASCADE, related_name="matches", verbose_name=_("provider")
    )
    rank = models.PositiveIntegerField(_("rank"))
    score = models.FloatField(_("score"))
    price_total = models.DecimalField(_("estimated price"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    price = models.JSONField(_("price breakdown"), default=dict)
    finish_at = models.DateTimeField(_("finish"))
    slots = models.JSONField(_("slots"), default=list)
    free_windows = models.JSONField(_("free windows"), default=list)
    distance_km = models.FloatField(_("distance (km)"), null=True, blank=True)
    terms = models.JSONField(_("score terms"), default=dict)
    explanation = models.JSONField(_("explanation"), default=dict)

    class Meta:
        app_label = "marketplace"
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        ordering = ["run", "rank"]
        constraints = [models.UniqueConstraint(fields=["run", "resource"], name="match_run_resource_unique")]
        indexes = [models.Index(fields=["provider", "order"], name="match_provider_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} #{self.rank}: {self.resource_id}"


class MatchNotificationPreference(models.Model):
    """How a provider organisation hears about orders that match its resources."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", _("At once, for every matched order")
        DAILY = "daily", _("One daily digest at 08:00")

    organisation = models.OneToOneField(
        "marketplace.Organisation", on_delete=models.CASCADE, related_name="match_notification_preference"
    )
    mode = models.CharField(_("matched orders"), max_length=10, choices=Mode.choices, default=Mode.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "marketplace"
        verbose_name = _("match notification preference")
        verbose_name_plural = _("match notification preferences")

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.mode}"


class MatchNotice(models.Model):
    """A provider organisation was told (or is due to be told, in the next digest) that an order
    matched its resources: once per order and provider, whatever the number of runs.
    ``sent_at`` is null while it waits for a digest."""

    order = models.ForeignKey("marketplace.Order", on_delete=models.CASCADE, related_name="match_notices")
    provider = models.ForeignKey("marketplace.Organisation", on_delete=models.CASCADE, related_name="match_notices")
    mode = models.CharField(max_length=10, choices=MatchNotificationPreference.Mode.choices)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "marketplace"
        verbose_name = _("match notice")
        verbose_name_plural = _("match notices")
        constraints = [models.UniqueConstraint(fields=["order", "provider"], name="matchnotice_unique")]
        indexes = [models.Index(fields=["provider", "sent_at"], name="matchnotice_pending_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.provider_id}"
