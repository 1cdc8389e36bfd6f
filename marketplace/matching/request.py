"""What a buyer asks the matching engine for: a plain value object, independent of the Order model.

The engine never reads an order row; the order service builds a :class:`MatchRequest` from an order
(``category``, part size, quantity, due date…) and hands it over, so matching can be tested and
benchmarked on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.errors import DomainError


@dataclass(frozen=True)
class MatchRequest:
    """A job to place: what, how many, how precise, by when, delivered where.

    ``category`` is a category code: a minor category, or a major one meaning "any minor under it".
    Part dimensions are all three or none. ``cycle_time_minutes`` overrides the resources' own
    typical cycle time (the buyer or a quote knows better); without either a resource cannot be
    scheduled and is ruled out ("no cycle time"). ``now`` is injectable so tests do not depend on
    the clock; it defaults to the current time.
    """

    category: str
    quantity: int
    due: datetime
    now: datetime | None = None
    kind: str | None = None
    cycle_time_minutes: Decimal | None = None
    part_x_mm: Decimal | None = None
    part_y_mm: Decimal | None = None
    part_z_mm: Decimal | None = None
    weight_kg: Decimal | None = None
    tolerance_mm: Decimal | None = None
    material: str | None = None
    certifications: tuple[str, ...] = field(default_factory=tuple)
    measurand: str | None = None
    range_min: Decimal | None = None
    range_max: Decimal | None = None
    delivery_lat: float | None = None
    delivery_lon: float | None = None
    billing_unit: str | None = None
    currency: str = "CNY"

    def __post_init__(self):
        # Normalise so the rest of the engine sees one shape.
        if self.now is None:
            object.__setattr__(self, "now", timezone.now())
        object.__setattr__(self, "certifications", tuple(sorted(set(self.certifications))))
        for name in ("cycle_time_minutes", "part_x_mm", "part_y_mm", "part_z_mm", "weight_kg", "tolerance_mm",
                     "range_min", "range_max"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                object.__setattr__(self, name, Decimal(str(value)))
        self.validate()

    def validate(self) -> None:
        if self.quantity < 1:
            raise DomainError(_("The quantity must be at least 1."), code="quantity")
        if timezone.is_naive(self.due) or timezone.is_naive(self.now):
            raise DomainError(_("Dates must carry a time zone."), code="naive")
        if self.due <= self.now:
            raise DomainError(_("The due date must be in the future."), code="due")
        dims = (self.part_x_mm, self.part_y_mm, self.part_z_mm)
        if any(d is not None for d in dims) and any(d is None for d in dims):
            raise DomainError(_("Give all three part dimensions or none."), code="dimensions")
        if any(d is not None and d <= 0 for d in dims):
            raise DomainError(_("Part dimensions must be positive."), code="dimensions")
        if self.cycle_time_minutes is not None and self.cycle_time_minutes <= 0:
            raise DomainError(_("The cycle time must be positive."), code="cycle_time")
        if (self.range_min is None) != (self.range_max is None):
            raise DomainError(_("Give both ends of the measuring range or neither."), code="range")
        if self.range_min is not None and self.range_min > self.range_max:
            raise DomainError(_("The range must run from low to high."), code="range")
        if (self.range_min is not None) and not self.measurand:
            raise DomainError(_("A measuring range needs a measurand."), code="range")
        if (self.delivery_lat is None) != (self.delivery_lon is None):
            raise DomainError(_("Give both latitude and longitude of the delivery point."), code="delivery")

    @property
    def part_dims(self) -> tuple[Decimal, Decimal, Decimal] | None:
        """The part's dimensions sorted ascending (a part may be turned to fit), or None."""
        if self.part_x_mm is None:
            return None
        return tuple(sorted((self.part_x_mm, self.part_y_mm, self.part_z_mm)))  # type: ignore[return-value]
