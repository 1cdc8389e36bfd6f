"""Usage per booking window: clipped at the edges, resets and reboots never negative, overrun,
finality and adjustments, job reports — and a property test against a known true usage."""

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from capacity.models import Booking, BookingUsage, JobReport, JobReportEvent, UsageAdjustment
from capacity.selectors.metering import booking_usage_chart, window_usage
from capacity.services.metering import (
    compute_booking_usage,
    confirm_job_report,
    dispute_job_report,
    finalise_due_usage,
    record_readings,
    submit_job_report,
)
from marketplace.errors import DomainError, PermissionDeniedError
from tests.capacity.metering_support import T0, at, booking, device_for, reading
from tests.factories import OrganisationFactory, ResourceFactory, UserFactory

# Booking 10:00–12:00 (T0 is 08:00 UTC).
START, END = at(hours=2), at(hours=4)


@pytest.fixture(autouse=True)
def english(client):
    """Reasons and pages are asserted in English (the site's default language is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def setup(provider_org, provider_owner):
    device, _ = device_for(provider_org, provider_owner)
    machine = device.resources.get()
    return device, machine, booking(machine, START, END)


def test_increments_are_clipped_at_the_window_edges_and_split_linearly(setup):
    device, machine, slot = setup
    readings = [
        reading(machine, 1, at(hours=1.5), run=1000, parts=10),  # 09:30
        reading(machine, 2, at(hours=2.5), run=4600, parts=16),  # 10:30: 3600 s over 1 h, half inside
        reading(machine, 3, at(hours=3.5), run=8200, parts=20),  # 11:30: all inside
        reading(machine, 4, at(hours=4.5), run=9000, parts=24),  # 12:30: 800 s, half inside
    ]
    record_readings(device=device, readings=readings[::-1], now=at(hours=5))  # arrival order does not matter

    usage = compute_booking_usage(booking=slot, now=at(hours=5))

    assert (usage.run_seconds, usage.parts) == (Decimal("1800") + 3600 + 400, Decimal("3") + 4 + 2)
    assert usage.overrun_run_seconds == Decimal("1800") + 400
    assert usage.overrun_parts == Decimal("3") + 2
    assert (usage.source, usage.final, usage.readings_count) == ("telemetry", False, 2)


def test_a_reset_or_a_new_boot_starts_a_new_series_and_is_never_negative(setup):
    device, machine, slot = setup
    readings = [
        reading(machine, 1, at(hours=2), run=5000),
        reading(machine, 2, at(hours=2.25), run=5900),  # +900
        reading(machine, 3, at(hours=2.5), run=300),  # counter reset: +300 (from zero)
        reading(machine, 4, at(hours=2.75), run=1200),  # +900
        reading(machine, 0, at(hours=3), run=100, boot="boot-2"),  # reboot, seq restarts: +100
        reading(machine, 1, at(hours=3.25), run=1000, boot="boot-2"),  # +900
    ]
    record_readings(device=device, readings=readings, now=at(hours=5))

    usage = compute_booking_usage(booking=slot, now=at(hours=5))

    assert usage.run_seconds == Decimal("3100.000")


def test_overrun_excludes_the_resources_other_bookings(setup):
    device, machine, slot = setup
    booking(machine, END, at(hours=5))  # the next customer's booking, 12:00–13:00
    booking(machine, at(hours=0), START, status=Booking.Status.RELEASED)  # released: its time is overrun
    readings = [reading(machine, i, at(hours=i), run=3600 * i) for i in range(7)]  # running 08:00–14:00
    record_readings(device=device, readings=readings, now=at(hours=7))

    usage = compute_booking_usage(booking=slot, now=at(hours=7))

    assert usage.run_seconds == Decimal("7200")
    assert usage.overrun_run_seconds == Decimal("7200") + Decimal("3600")  # 08–10 and 13–14


def test_usage_becomes_final_48_hours_after_the_booking_and_late_data_adjust(setup, django_capture_on_commit_callbacks):
    device, machine, slot = setup
    record_readings(
        device=device,
        readings=[reading(machine, 1, at(hours=2), run=0), reading(machine, 2, at(hours=3), run=3600)],
        now=at(hours=5),
    )
    assert compute_booking_usage(booking=slot, now=END + timedelta(hours=47)).final is False
    # A late reading before finality recomputes in place (triggered after commit).
    with django_capture_on_commit_callbacks(execute=True):
        record_readings(device=device, readings=[reading(machine, 3, at(hours=4), run=5400)], now=at(hours=20))
    usage = BookingUsage.objects.get(booking=slot)
    assert (usage.run_seconds, usage.final) == (Decimal("5400.000"), False)

    assert finalise_due_usage(now=END + timedelta(hours=48)) == 1
    usage.refresh_from_db()
    assert (usage.run_seconds, usage.final, usage.finalised_at) == (
        Decimal("5400.000"), True, END + timedelta(hours=48),
    )  # fmt: skip
    assert finalise_due_usage(now=END + timedelta(hours=49)) == 0

    # After finality a late reading never changes the row: it adds an adjustment.
    with django_capture_on_commit_callbacks(execute=True):
        record_readings(
            device=device, readings=[reading(machine, 15, at(hours=3.5), run=4500)], now=END + timedelta(days=3)
        )  # a reading lost in the gateway's buffer: between 11:00 (3600) and 12:00 (5400), no change
        record_readings(
            device=device,
            readings=[reading(machine, 0, at(hours=1.5), run=0, boot="boot-0")],  # an earlier boot's reading
            now=END + timedelta(days=3),
        )
    assert UsageAdjustment.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        record_readings(
            device=device,
            readings=[reading(machine, 0, at(hours=2.5), run=900, boot="boot-1b")],
            now=END + timedelta(days=4),
        )
    usage.refresh_from_db()
    assert usage.run_seconds == Decimal("5400.000")
    adjustment = UsageAdjustment.objects.get()
    assert (adjustment.booking, adjustment.reason) == (slot, "Late telemetry after usage was final")
    assert adjustment.created_at > END + timedelta(days=3)
    expected = window_usage(slot)
    assert (
        usage.run_seconds + adjustment.run_seconds
        == Decimal(expected.run_seconds.numerator) / expected.run_seconds.denominator
    )


def test_the_booking_chart_shows_measured_against_booked(setup):
    device, machine, slot = setup
    record_readings(
        device=device,
        readings=[reading(machine, 1, at(hours=2), run=0), reading(machine, 2, at(hours=3), run=3600)],
        now=at(hours=5),
    )
    compute_booking_usage(booking=slot, now=at(hours=5))

    chart = booking_usage_chart(slot)

    assert (chart["booked_hours"], chart["measured_hours"], chart["measured_pct"], chart["overrun_hours"]) == (
        2.0, 1.0, 50, 0.0,
    )  # fmt: skip
    assert (chart["window_x"], chart["window_w"]) == (150.0, 300.0)  # at least 1 h shown on each side
    assert chart["polyline"].split()[0] == "0.0,180.0"
    assert chart["polyline"].split()[-1] == "600.0,10.0"


# --- job reports -----------------------------------------------------------------------------


def test_job_reports_are_submitted_by_the_provider_and_confirmed_by_the_other_side(
    provider_org, provider_owner, buyer_org, buyer_owner
):
    machine = ResourceFactory(provider=provider_org)
    slot = booking(machine, START, END)

    with pytest.raises(PermissionDeniedError):
        submit_job_report(booking=slot, user=buyer_owner, run_seconds=3600, parts=4, now=at(hours=5))
    report = submit_job_report(booking=slot, user=provider_owner, run_seconds=5400, parts=12, now=at(hours=5))
    with pytest.raises(DomainError, match="already has a job report"):
        submit_job_report(booking=slot, user=provider_owner, run_seconds=1, parts=1, now=at(hours=5))
    with pytest.raises(PermissionDeniedError):
        confirm_job_report(report=report, user=provider_owner, organisation=provider_org, now=at(hours=6))
    assert JobReport.objects.get().status == "submitted"

    confirm_job_report(report=report, user=buyer_owner, organisation=buyer_org, now=at(hours=6))

    usage = BookingUsage.objects.get(booking=slot)
    assert (usage.source, usage.run_seconds, usage.parts, usage.overrun_run_seconds) == (
        "job_report", Decimal("5400.000"), Decimal("12.000"), Decimal("0.000"),
    )  # fmt: skip
    assert list(JobReportEvent.objects.values_list("from_status", "to_status", "by__email")) == [
        ("", "submitted", "owner@provider.example"),
        ("submitted", "confirmed", "owner@buyer.example"),
    ]
    with pytest.raises(DomainError, match="cannot be changed"):
        dispute_job_report(report=report, user=buyer_owner, organisation=buyer_org, reason="late", now=at(hours=7))


def test_a_disputed_report_sets_no_usage_and_may_be_replaced(provider_org, provider_owner, buyer_org, buyer_owner):
    machine = ResourceFactory(provider=provider_org)
    slot = booking(machine, START, END)
    report = submit_job_report(booking=slot, user=provider_owner, run_seconds=7200, parts=3, now=at(hours=5))

    with pytest.raises(DomainError, match="Say why"):
        dispute_job_report(report=report, user=buyer_owner, organisation=buyer_org, reason=" ", now=at(hours=6))
    dispute_job_report(report=report, user=buyer_owner, organisation=buyer_org, reason="Ran 1 h", now=at(hours=6))

    assert JobReport.objects.get().status == "disputed"
    assert not BookingUsage.objects.exists()
    replacement = submit_job_report(booking=slot, user=provider_owner, run_seconds=3600, parts=3, now=at(hours=7))
    assert replacement.status == "submitted"


def test_a_report_longer_than_the_booking_and_margins_is_refused(provider_org, provider_owner):
    slot = booking(ResourceFactory(provider=provider_org), START, END)
    with pytest.raises(DomainError, match="longer than the booking"):
        submit_job_report(booking=slot, user=provider_owner, run_seconds=2 * 3600 + 48 * 3600 + 1, parts=0)
    assert not JobReport.objects.exists()


# --- property: derived usage against a known true usage --------------------------------------

MARGIN_S = 20 * 3600  # every generated reading lies within 20 h of the window: all of it is overrun or usage


@st.composite
def scenarios(draw):
    """A device stream with true usage, and how it is delivered.

    True usage is the piecewise-linear counter through every generated reading; across a reset or
    reboot the increment is the new value counted from zero. Resets are detectable: after one, the
    counter stays below the value before it (a counter that read 0 may reset invisibly).
    """
    window_s = draw(st.integers(600, 6 * 3600))
    n = draw(st.integers(2, 30))
    times = sorted(draw(st.sets(st.integers(-MARGIN_S, window_s + MARGIN_S), min_size=n, max_size=n)))
    # Sometimes place readings exactly on the edges.
    if draw(st.booleans()):
        times = sorted(set(times) | {0, window_s})
    stream = []  # (time, boot, seq, run, parts, kind) kind: first|continue|reset|reboot
    boot, seq = 0, 0
    caps = {"run": None, "parts": None}
    for i, t in enumerate(times):
        if i == 0:
            run, parts, kind = draw(st.integers(0, 10**6)), draw(st.integers(0, 1000)), "first"
            stream.append((t, boot, seq, run, parts, kind))
            continue
        prev = stream[-1]
        dt = t - prev[0]
        kind = draw(st.sampled_from(["continue"] * 6 + ["reset", "reboot"]))
        if kind == "reset" and prev[3] == 0 and prev[4] == 0:
            kind = "continue"
        if kind == "reboot":
            boot, seq = boot + 1, 0
            caps = {"run": None, "parts": None}
            run, parts = draw(st.integers(0, dt)), draw(st.integers(0, 5))
        elif kind == "reset":
            seq += 1
            caps = {"run": prev[3] or None, "parts": prev[4] or None}
            run = min(draw(st.integers(0, dt)), (caps["run"] or 10**9) - 1)
            parts = min(draw(st.integers(0, 5)), (caps["parts"] or 10**9) - 1)
        else:
            seq += 1
            run = prev[3] + draw(st.integers(0, dt))
            parts = prev[4] + draw(st.integers(0, 5))
            if caps["run"] is not None:
                run = min(run, caps["run"] - 1)
            if caps["parts"] is not None:
                parts = min(parts, caps["parts"] - 1)
        stream.append((t, boot, seq, run, parts, kind))

    delivered = [i for i in range(len(stream)) if draw(st.integers(0, 9)) != 0]  # ~10% dropped
    copies = delivered + draw(st.lists(st.sampled_from(delivered), max_size=10)) if delivered else []
    order = draw(st.permutations(copies))
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=4)))
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    return window_s, stream, set(delivered), [b for b in batches if b]


def true_usage(stream, start_s, end_s, counter):
    """U(t) through every generated reading (increments from zero across resets/reboots), clipped."""
    column = 3 if counter == "run" else 4
    cumulative, points = 0, []
    for i, row in enumerate(stream):
        if i > 0:
            cumulative += row[column] if row[5] in ("reset", "reboot") else row[column] - stream[i - 1][column]
        points.append((row[0], cumulative))

    def u(t):
        if t <= points[0][0]:
            return Fraction(points[0][1])
        for (t0, v0), (t1, v1) in pairwise(points):
            if t <= t1:
                return v0 + Fraction(v1 - v0) * Fraction(t - t0, t1 - t0)
        return Fraction(points[-1][1])

    return u(end_s) - u(start_s)


def _brackets(stream, edge):
    before = max((i for i, r in enumerate(stream) if r[0] <= edge), default=None)
    after = min((i for i, r in enumerate(stream) if r[0] >= edge), default=None)
    return {i for i in (before, after) if i is not None}


def _quantized(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.001"), ROUND_HALF_EVEN)


@pytest.mark.django_db
@given(scenario=scenarios())
def test_derived_usage_matches_true_usage_whatever_the_delivery(scenario):
    window_s, stream, delivered, batches = scenario
    provider = OrganisationFactory()
    owner = provider.memberships.create(user=UserFactory(), role="owner").user
    device, _ = device_for(provider, owner)
    machine = device.resources.get()
    slot = booking(machine, T0, T0 + timedelta(seconds=window_s))
    now = T0 + timedelta(seconds=window_s + MARGIN_S + 60)

    def as_reading(i):
        t, boot, seq, run, parts, _kind = stream[i]
        return reading(machine, seq, T0 + timedelta(seconds=t), run=run, parts=parts, boot=f"boot-{boot}")

    for batch in batches:
        results = record_readings(device=device, readings=[as_reading(i) for i in batch], now=now)
        assert {r.status for r in results} <= {"stored", "duplicate"}
    usage = compute_booking_usage(booking=slot, now=now)
    derived = window_usage(slot)

    truth = {
        counter: (
            true_usage(stream, 0, window_s, counter),
            true_usage(stream, -MARGIN_S - 1, 0, counter)
            + true_usage(stream, window_s, window_s + MARGIN_S + 1, counter),
        )
        for counter in ("run", "parts")
    }
    got = {
        "run": (derived.run_seconds, derived.overrun_run_seconds),
        "parts": (derived.parts, derived.overrun_parts),
    }
    brackets = _brackets(stream, 0) | _brackets(stream, window_s)
    series_lasts = {i for i in range(len(stream)) if i == len(stream) - 1 or stream[i + 1][5] in ("reset", "reboot")}
    # The stream's first reading anchors the counter: without it the increment up to the first
    # delivered reading is unknowable (counted as nothing, never guessed).
    required = brackets | series_lasts | {0}

    for counter in ("run", "parts"):
        inside, outside = truth[counter]
        got_inside, got_outside = got[counter]
        assert got_inside >= 0 and got_outside >= 0
        if required <= delivered:
            assert (got_inside, got_outside) == (inside, outside), counter
        elif brackets <= delivered:
            assert got_inside <= inside and got_outside <= outside, counter
        else:
            # A lost edge reading widens the segment split across the edge: only the total is bounded.
            assert got_inside + got_outside <= inside + outside, counter
    if required <= delivered:
        assert (usage.run_seconds, usage.parts) == (_quantized(truth["run"][0]), _quantized(truth["parts"][0]))
        assert usage.overrun_run_seconds == _quantized(truth["run"][1])
