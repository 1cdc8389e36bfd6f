"""Operator work: automatic trade flags, organisation suspensions, the audit trail and the
certificate-expiry notices.

- A **TradeFlag** is raised by ``services.ops.flag_trades`` when a rule finds something an
  operator should look at (an odd price, a large first order, repeated cancellations, usage
  far above the booking, an expired certificate, a suspended party). At most one open flag
  per trade and kind; an operator resolves it with a note.
- An **OrganisationSuspension** stops a provider's listings from showing and a buyer from
  ordering, until it is lifted. At most one open suspension per organisation.
- An **AuditEntry** records one operator action (or a state change no other event row
  records): who, what, on which object, which fields changed and why.
- A **CertificateNotice** remembers that a certificate's expiry was announced (30 days ahead)
  or acted on (after expiry), so the daily job does each once.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models.accounts import Organisation
from marketplace.models.trades import Trade


class TradeFlag(models.Model):
    """Something about a trade an operator should look at, found by a rule."""

    class Kind(models.TextChoices):
        PRICE_OUTLIER = "price_outlier", _("Price far from the category median")
        LARGE_FIRST_ORDER = "large_first_order", _("Large first order from a new buyer")
        REPEATED_CANCELLATIONS = "cancellations", _("Repeated cancellations")
        USAGE_OVERRUN = "usage_overrun", _("Measured usage far above the booking")
        EXPIRED_CERTIFICATE = "expired_cert", _("Expired certificate behind an active listing")
        SUSPENDED_PARTY = "suspended_party", _("A party is suspended")

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="flags", verbose_name=_("trade"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("raised"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)

    class Meta:
        verbose_name = _("trade flag")
        verbose_name_plural = _("trade flags")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["trade", "kind"], condition=Q(resolved_at__isnull=True), name="tradeflag_one_open_per_kind"
            ),
        ]
        indexes = [models.Index(fields=["resolved_at", "created_at"], name="tradeflag_open_idx")]

    def __str__(self) -> str:
        return f"{self.trade_id}: {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class OrganisationSuspension(models.Model):
    """An operator's suspension of a provider or buyer organisation, and when it was lifted."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="suspensions", verbose_name=_("organisation")
    )
    reason = models.TextField(_("reason"))
    suspended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(_("suspended"), default=timezone.now)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("organisation suspension")
        verbose_name_plural = _("organisation suspensions")
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], condition=Q(lifted_at__isnull=True), name="suspension_one_open_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} suspended at {self.at:%Y-%m-%d}"


class AuditEntry(models.Model):
    """One operator action or state change: who, what, on which object, what changed, why."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(_("action"), max_length=60)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "at"], name="auditentry_subject_idx"),
            models.Index(fields=["at"], name="auditentry_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_type_id}/{self.subject_id}"


class CertificateNotice(models.Model):
    """The expiry warning or the withdrawal after expiry of one certificate (each done once)."""

    class Kind(models.TextChoices):
        WARNED = "warned", _("Expiry warning sent")
        WITHDRAWN = "withdrawn", _("Claims withdrawn after expiry")

    certification = models.ForeignKey("capacity.Certification", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("certificate notice")
        verbose_name_plural = _("certificate notices")
        ordering = ["-at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["certification", "kind"], name="certnotice_once")]

    def __str__(self) -> str:
        return f"{self.certification_id}: {self.kind}"
