"""Operator-tunable weights of the match ranking (a singleton row)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
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
