"""Split plans: when no single resource can make the due date, share the quantity out.

Each resource ``i`` that passes every hard constraint can make ``capᵢ`` parts before the due date
(``floor((free minutes − setup minutes) / cycle time)``). Choose integer quantities ``qᵢ ≤ capᵢ``
with ``Σ qᵢ = quantity`` at minimum total price, where each used resource is priced exactly as a
single match would be (:func:`marketplace.matching.pricing.estimate`: setup fee per resource used,
machine time rounded up to its increment, every line rounded HALF_UP, minimum charge respected).

Solved as a MILP with HiGHS, in integer minor units so that its optimum is the optimum of the real
prices (the HALF_UP rounding of a line is linearised exactly: ``L = round(N / D)`` ⇔
``2D·L ≥ 2N − D + 1`` when ``L`` is minimised). Per resource: ``yᵢ`` (used, binary), ``qᵢ`` (parts),
``bᵢ`` (billing increments), ``Lᵢ`` (work line), ``tᵢ`` (minimum-charge top-up):

    min Σ Lᵢ + setupᵢ·yᵢ + tᵢ
    Σ qᵢ = quantity;  qᵢ ≤ capᵢ·yᵢ
    per machine-hour: incᵢ·bᵢ ≥ cycleᵢ·qᵢ + setup_minᵢ·yᵢ;  Lᵢ ≥ rate-per-increment·bᵢ − ½ + 1/(2D)
    per part:         Lᵢ ≥ rateᵢ·qᵢ − ½ + 1/(2D)
    tᵢ ≥ minimumᵢ·yᵢ − Lᵢ − setupᵢ·yᵢ,  tᵢ ≥ 0

Under a time limit; when HiGHS is missing, fails or times out without proving optimality, the
greedy plan (repeatedly fill the resource with the cheapest marginal price per part) is used, or
the solver's incumbent if that is cheaper. The plan is always re-priced with ``estimate``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from billing.money import minor_unit_exponent
from marketplace.matching.candidates import Candidate, find_schedulable, free_slots
from marketplace.matching.pricing import MACHINE_HOUR, PriceBreakdown, RateCard, estimate
from marketplace.matching.request import MatchRequest

DEFAULT_TIME_LIMIT = 2.0  # seconds
MILP = "milp"
GREEDY = "greedy"


@dataclass(frozen=True)
class SplitOption:
    """What the planner needs to know about one resource."""

    card: RateCard
    cycle_minutes: Decimal
    setup_minutes: Decimal
    capacity: int  # parts it can make before the due date

    def price(self, quantity: int) -> Decimal:
        if quantity <= 0:
            return Decimal(0)
        return self.breakdown(quantity).total

    def breakdown(self, quantity: int) -> PriceBreakdown:
        minutes = self.setup_minutes + quantity * self.cycle_minutes
        return estimate(self.card, quantity=quantity, machine_minutes=minutes)


@dataclass
class SplitPart:
    candidate: Candidate
    quantity: int
    price: PriceBreakdown
    slots: list[tuple[datetime, datetime]]
    finish: datetime


@dataclass
class SplitPlan:
    parts: list[SplitPart]
    total: Decimal
    currency: str
    method: str
    finish: datetime
    explanation: list[str] = field(default_factory=list)


def parts_before_due(candidate: Candidate) -> int:
    free = candidate.free_minutes - candidate.setup_minutes
    if free <= 0 or not candidate.cycle_minutes:
        return 0
    return int(free // candidate.cycle_minutes)


def allocation_cost(options: list[SplitOption], quantities: list[int]) -> Decimal:
    return sum((o.price(q) for o, q in zip(options, quantities, strict=True)), Decimal(0))


def brute_force(options: list[SplitOption], quantity: int) -> tuple[Decimal, list[int]] | None:
    """The optimum by enumerating every allocation (small instances only: tests and the benchmark)."""
    prices = [[o.price(q) for q in range(min(o.capacity, quantity) + 1)] for o in options]
    best: tuple[Decimal, list[int]] | None = None
    for combo in itertools.product(*(range(len(p)) for p in prices)):
        if sum(combo) != quantity:
            continue
        cost = sum((p[q] for p, q in zip(prices, combo, strict=True)), Decimal(0))
        if best is None or cost < best[0]:
            best = (cost, list(combo))
    return best


def greedy(options: list[SplitOption], quantity: int) -> list[int] | None:
    """Repeatedly give the resource with the cheapest marginal price per part as many parts as it
    can take (or as remain). None when the options cannot make the quantity together."""
    if sum(o.capacity for o in options) < quantity:
        return None
    quantities = [0] * len(options)
    remaining = quantity
    while remaining > 0:
        best = None
        for i, option in enumerate(options):
            room = option.capacity - quantities[i]
            if room <= 0:
                continue
            # Try the whole room and exactly what remains: a minimum charge or a setup fee makes
            # the per-part marginal price depend on the batch size.
            for k in {min(room, remaining), 1 if remaining > 1 else remaining}:
                marginal = (option.price(quantities[i] + k) - option.price(quantities[i])) / k
                key = (marginal, -k, i)
                if best is None or key < best[0]:
                    best = (key, i, k)
        assert best is not None
        _key, i, k = best
        quantities[i] += k
        remaining -= k
    return quantities


def _scale(values: list[Decimal]) -> int:
    """The power of ten that makes every value an integer (at most 10⁶)."""
    places = max((max(0, -v.normalize().as_tuple().exponent) for v in values), default=0)
    return 10 ** min(places, 6)


def milp(options: list[SplitOption], quantity: int, *, time_limit: float) -> tuple[list[int] | None, bool]:
    """(quantities, proven optimal). Raises ImportError when highspy is not installed."""
    import highspy

    if sum(o.capacity for o in options) < quantity:
        return None, True
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    # Prices are whole minor units, so a gap below one unit proves optimality.
    h.setOptionValue("mip_abs_gap", 0.5)
    inf = highspy.kHighsInf
    integer = highspy.HighsVarType.kInteger
    n_cols = 0

    def column(cost: float, lower: float, upper: float, is_integer: bool = True) -> int:
        nonlocal n_cols
        h.addCol(cost, lower, upper, 0, [], [])
        if is_integer:
            h.changeColIntegrality(n_cols, integer)
        n_cols += 1
        return n_cols - 1

    q_cols = []
    for option in options:
        card = option.card
        unit = 10 ** minor_unit_exponent(card.currency)
        setup = int(estimate(card, quantity=1, machine_minutes=Decimal(0)).setup_fee * unit)
        minimum = int(estimate(card, quantity=1, machine_minutes=Decimal(0)).minimum_charge * unit)
        cap = min(option.capacity, quantity)
        y = column(setup, 0, 1 if cap > 0 else 0)
        q = column(0, 0, cap)
        work = column(1, 0, inf)
        top = column(1, 0, inf, is_integer=False)
        q_cols.append(q)
        h.addRow(-inf, 0, 2, [q, y], [1, -cap])  # q ≤ cap·y
        rate = card.rate * unit  # minor units per hour or per part
        if card.billing_unit == MACHINE_HOUR:
            s = _scale([option.cycle_minutes, option.setup_minutes])
            inc = card.billing_increment_minutes
            b = column(0, 0, inf)
            # inc·b − cycle·q − setup_min·y ≥ 0, scaled to integers.
            cycle, setup_min = float(option.cycle_minutes * s), float(option.setup_minutes * s)
            h.addRow(0, inf, 3, [b, q, y], [inc * s, -cycle, -setup_min])
            per_unit, driver = rate * inc / 60, b  # minor units per billing increment
        else:
            per_unit, driver = rate, q
        # L = round_half_up(per_unit · driver) ⇔ L > per_unit · driver − ½ (L is minimised). With
        # per_unit = a/d the left side moves in steps of 1/(2d): half a step keeps it exact in floats.
        step = Fraction(1, 2 * Fraction(per_unit).denominator)
        h.addRow(float(step / 2) - 0.5, inf, 2, [work, driver], [1, -float(per_unit)])
        h.addRow(0, inf, 3, [top, work, y], [1, 1, setup - minimum])  # t ≥ minimum·y − L − setup·y
    h.addRow(quantity, quantity, len(q_cols), q_cols, [1] * len(q_cols))
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None, True
    values = h.getSolution().col_value
    if h.getInfo().primal_solution_status != 2 or not values:  # 2 = feasible solution available
        return None, False
    quantities = [round(values[c]) for c in q_cols]
    if sum(quantities) != quantity or any(q > o.capacity for q, o in zip(quantities, options, strict=True)):
        return None, False
    return quantities, status == highspy.HighsModelStatus.kOptimal


def solve(
    options: list[SplitOption], quantity: int, *, time_limit: float = DEFAULT_TIME_LIMIT, method: str = MILP
) -> tuple[list[int], str] | None:
    """The cheapest allocation found and the method that found it; None when infeasible."""
    fallback = greedy(options, quantity)
    if fallback is None:
        return None
    if method == MILP:
        try:
            quantities, optimal = milp(options, quantity, time_limit=time_limit)
        except ImportError:
            quantities, optimal = None, False
        if quantities is not None and (
            optimal or allocation_cost(options, quantities) < allocation_cost(options, fallback)
        ):
            return quantities, MILP
    return fallback, GREEDY


def take_slots(windows: list[tuple[datetime, datetime]], minutes: Decimal) -> list[tuple[datetime, datetime]]:
    """The first ``minutes`` of free time out of ordered ``windows`` (the last one cut short)."""
    from datetime import timedelta

    need = timedelta(minutes=float(minutes))
    slots = []
    for start, end in windows:
        if need <= timedelta(0):
            break
        take = min(end - start, need)
        slots.append((start, start + take))
        need -= take
    return slots


def plan_split(
    request: MatchRequest,
    *,
    using: str = "default",
    time_limit: float = DEFAULT_TIME_LIMIT,
    method: str = MILP,
    max_resources: int = 200,
    slots_for: Callable[[Candidate], list[tuple[datetime, datetime]]] | None = None,
) -> SplitPlan | None:
    """Share ``request.quantity`` over resources that together finish by the due date, at minimum
    total price. None when even all of them together cannot make the quantity in time."""
    from django.utils.translation import gettext as _

    from marketplace.matching.explain import moment, price_text

    candidates = [c for c in find_schedulable(request, using=using, limit=max_resources) if parts_before_due(c) > 0]
    options = [
        SplitOption(card=c.card, cycle_minutes=c.cycle_minutes, setup_minutes=c.setup_minutes,
                    capacity=parts_before_due(c))
        for c in candidates
    ]  # fmt: skip
    solution = solve(options, request.quantity, time_limit=time_limit, method=method)
    if solution is None:
        return None
    quantities, used_method = solution
    parts = []
    for candidate, option, qty in zip(candidates, options, quantities, strict=True):
        if qty <= 0:
            continue
        windows = slots_for(candidate) if slots_for else free_slots(candidate, due=request.due, using=using)
        slots = take_slots(windows, candidate.machine_minutes(qty))
        parts.append(SplitPart(candidate, qty, option.breakdown(qty), slots, slots[-1][1]))
    parts.sort(key=lambda p: (p.finish, p.candidate.resource_id))
    total = sum((p.price.total for p in parts), Decimal(0))
    plan = SplitPlan(parts, total, request.currency, used_method, max(p.finish for p in parts))
    plan.explanation = [
        _("%(quantity)s on %(resource)s, finishes %(when)s: %(price)s")
        % {"quantity": p.quantity, "resource": p.candidate.name, "when": moment(p.finish), "price": price_text(p.price)}
        for p in parts
    ]
    return plan
