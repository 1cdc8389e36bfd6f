"""Orders for the matching-persistence tests: the matching market's standard job as an order."""

from __future__ import annotations

from decimal import Decimal

from capacity.models import Material
from tests.factories import OrderFactory
from tests.marketplace.matching_market import at


def job_order(buyer, **overrides):
    """Ten aluminium parts 500×400×300 mm, 50 kg, ±0.02 mm, ISO 9001, due Saturday 12 December
    2026 00:00 Shanghai: the order twin of ``matching_market.job()``."""
    fields = {
        "buyer": buyer,
        "title": "Gearbox housing",
        "quantity": 10,
        "envelope_x_mm": Decimal("500"),
        "envelope_y_mm": Decimal("400"),
        "envelope_z_mm": Decimal("300"),
        "weight_kg": Decimal("50"),
        "tolerance_mm": Decimal("0.02"),
        "material": Material.objects.get(code="AL6061"),
        "certifications": ["ISO9001"],
        "due_at": at(5, 0),
        "budget": Decimal("9000.00"),
        "status": "open",
    }
    fields.update(overrides)
    return OrderFactory(**fields)
