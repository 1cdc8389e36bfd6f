"""The public catalogue: browse counts, every facet on a market with known answers, sorting,
visibility (only listed resources of verified providers), the resource page, provider pages,
private photos and a query count that does not grow with the number of results."""

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.core.files.base import ContentFile
from django.core.paginator import Paginator
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from capacity.filters import CatalogueFilter, OptionsSelect
from capacity.models import Booking, ProviderPhoto, Resource, ResourcePhoto
from capacity.selectors import catalogue as selectors
from capacity.selectors.availability import free_hours
from tests.capacity.market import BEIJING_HAIDIAN, MONDAY, at, book, certify, idle, listing, provider
from tests.factories import TINY_PNG

pytestmark = pytest.mark.django_db


def names(params: dict, *, now=MONDAY) -> list[str]:
    """Names of the resources the catalogue filter returns for ``params`` (in result order)."""
    filterset = CatalogueFilter(params, queryset=selectors.catalogue_resources(now=now), now=now)
    assert filterset.is_valid(), filterset.errors
    return [r.name for r in filterset.qs]


def errors(params: dict) -> dict:
    """The form's errors for ``params``, in English."""
    with translation.override("en"):
        filterset = CatalogueFilter(params, queryset=selectors.catalogue_resources(now=MONDAY), now=MONDAY)
        assert not filterset.is_valid()
        return {field: [str(m) for m in messages] for field, messages in filterset.errors.items()}


@pytest.fixture
def suzhou():
    return provider("Suzhou Precision CNC", slug="suzhou-precision")


@pytest.fixture
def beijing():
    return provider("Beijing Test Lab", province="BJ", city="HD", point=BEIJING_HAIDIAN, slug="beijing-lab")


# --- facets ---------------------------------------------------------------------------------


def test_category_takes_a_minor_or_a_major_meaning_all_its_minors(suzhou):
    listing(suzhou, "Mill", category="P0101")
    listing(suzhou, "Lathe", category="P0102")
    listing(suzhou, "Salt fog chamber", category="T0205")
    assert names({"category": "P0101"}) == ["Mill"]
    assert sorted(names({"category": "P01"})) == ["Lathe", "Mill"]
    assert names({"category": "T02"}) == ["Salt fog chamber"]


def test_kind(suzhou):
    listing(suzhou, "Mill", category="P0101")
    listing(suzhou, "Salt fog chamber", category="T0205")
    assert names({"kind": "testing"}) == ["Salt fog chamber"]
    assert names({"kind": "production"}) == ["Mill"]
    assert names({"kind": "metrology"}) == []


def test_material(suzhou):
    listing(suzhou, "Aluminium mill", materials=["AL6061", "AL7075"])
    listing(suzhou, "Other mill", materials=["AL6063"])
    listing(suzhou, "Mill without materials")
    assert names({"material": "AL7075"}) == ["Aluminium mill"]
    assert "material" in errors({"material": "UNOBTAINIUM"})


def test_part_fits_the_envelope_in_any_orientation(suzhou):
    env = {"envelope_x_mm": Decimal("800"), "envelope_y_mm": Decimal("500"), "envelope_z_mm": Decimal("500")}
    listing(suzhou, "Big mill", **env)
    listing(
        suzhou,
        "Small mill",
        envelope_x_mm=Decimal("400"),
        envelope_y_mm=Decimal("400"),
        envelope_z_mm=Decimal("400"),
    )
    listing(suzhou, "Mill with unknown envelope", envelope_x_mm=None)
    # 100 × 700 × 450 fits 800 × 500 × 500 turned on its side.
    assert names({"part_x": "100", "part_y": "700", "part_z": "450"}) == ["Big mill"]
    # 600 × 600 × 100 does not: two sides exceed 500.
    assert names({"part_x": "600", "part_y": "600", "part_z": "100"}) == []
    # Only one size given: the other two count as zero.
    assert sorted(names({"part_x": "400"})) == ["Big mill", "Small mill"]
    assert names({"part_z": "800"}) == ["Big mill"]
    assert "part_x" in errors({"part_x": "-1"})


def test_tolerance_and_maximum_rate(suzhou):
    listing(suzhou, "Precise cheap", tolerance_mm=Decimal("0.005"), rate=Decimal("150.00"))
    listing(suzhou, "Coarse cheap", tolerance_mm=Decimal("0.05"), rate=Decimal("120.00"))
    listing(suzhou, "Precise dear", tolerance_mm=Decimal("0.01"), rate=Decimal("320.00"))
    assert sorted(names({"tolerance": "0.01"})) == ["Precise cheap", "Precise dear"]
    assert sorted(names({"max_rate": "150"})) == ["Coarse cheap", "Precise cheap"]
    assert names({"tolerance": "0.01", "max_rate": "200"}) == ["Precise cheap"]


def test_province_and_city(suzhou, beijing):
    wuxi = provider("Wuxi Moulds", province="JS", city="WX", slug="wuxi")
    listing(suzhou, "Suzhou mill")
    listing(beijing, "Beijing mill")
    listing(wuxi, "Wuxi mill")
    assert sorted(names({"province": "JS"})) == ["Suzhou mill", "Wuxi mill"]
    assert names({"city": "JS-SZ"}) == ["Suzhou mill"]
    assert names({"province": "BJ", "city": "BJ-HD"}) == ["Beijing mill"]
    assert "city" in errors({"province": "BJ", "city": "JS-SZ"})


def test_distance_from_a_point_is_computed_in_sql_and_sorts(suzhou, beijing):
    listing(suzhou, "Suzhou mill")
    listing(beijing, "Beijing mill")
    # From Shanghai People's Square: Suzhou is about 85 km away, Beijing over 1,000 km.
    shanghai = {"lat": "31.2304", "lon": "121.4737"}
    assert names({**shanghai, "radius_km": "150"}) == ["Suzhou mill"]
    assert names({**shanghai, "radius_km": "1500", "sort": "distance"}) == ["Suzhou mill", "Beijing mill"]
    qs = selectors.with_distance(selectors.catalogue_resources(now=MONDAY), lat=31.2304, lon=121.4737)
    distances = {r.name: r.distance_km for r in qs}
    assert 80 < distances["Suzhou mill"] < 90
    assert 1050 < distances["Beijing mill"] < 1100
    assert "radius_km" in errors({"radius_km": "50"})
    assert "sort" in errors({"sort": "distance"})
    assert errors({"lat": "31.2"}) == {"__all__": ["Give both latitude and longitude, or neither."]}


def test_certification_must_be_held_and_valid_today(suzhou, beijing):
    wuxi = provider("Wuxi Moulds", city="WX", slug="wuxi")
    certify(suzhou, "IATF16949", date(2025, 1, 1), date(2027, 12, 31))
    certify(beijing, "IATF16949", date(2020, 1, 1), date(2023, 12, 31))  # expired
    certify(wuxi, "ISO9001", date(2025, 1, 1), date(2027, 12, 31))  # another standard
    listing(suzhou, "Suzhou mill")
    listing(beijing, "Beijing mill")
    listing(wuxi, "Wuxi mill")
    assert names({"certification": "IATF16949"}) == ["Suzhou mill"]
    # On a day before the certificate was issued nobody qualifies.
    assert names({"certification": "IATF16949"}, now=at(-800, 0)) == []


def test_free_hours_in_a_period_subtract_active_bookings(suzhou):
    busy = listing(suzhou, "Busy mill")
    idle(busy, at(0, 8), at(0, 18))  # 10 h idle on Monday
    book(busy, at(0, 10), at(0, 14))  # 4 h booked
    book(busy, at(0, 14), at(0, 15), status="released")  # not active: still free
    short = listing(suzhou, "Short mill")
    idle(short, at(0, 8), at(0, 12))  # 4 h
    idle(short, at(1, 8), at(1, 12))  # Tuesday: outside the period
    chamber = listing(suzhou, "Chamber", category="T0205", capacity=2)
    idle(chamber, at(0, 0), at(1, 0))  # 24 h
    book(chamber, at(0, 8), at(0, 12))
    book(chamber, at(0, 10), at(0, 16))  # both slots used 10:00–12:00 only
    listing(suzhou, "Never idle")

    period = {"free_from": "2026-12-07", "free_to": "2026-12-08"}
    assert sorted(names({**period, "free_hours": "5"})) == ["Busy mill", "Chamber"]
    assert names({**period, "free_hours": "7"}) == ["Chamber"]
    assert sorted(names(period)) == ["Busy mill", "Chamber", "Short mill"]
    # The SQL agrees with the Python derivation of free time, capacity included.
    qs = selectors.free_for(selectors.catalogue_resources(now=MONDAY), start=at(0, 0), end=at(1, 0), hours=None)
    sql = {r.name: r.free_hours for r in qs}
    assert sql == {"Busy mill": 6.0, "Short mill": 4.0, "Chamber": 22.0}
    for resource in (busy, short, chamber):
        assert free_hours(resource, at(0, 0), at(1, 0)) == sql[resource.name]
    assert "free_to" in errors({"free_from": "2026-12-08", "free_to": "2026-12-07"})
    assert "free_hours" in errors({"free_hours": "3"})
    assert errors({"free_from": "2026-12-08"}) == {"__all__": ["Give both dates of the free period, or neither."]}


def test_next_free_moment_is_annotated_in_sql(suzhou):
    booked_first = listing(suzhou, "Booked first")
    idle(booked_first, at(0, 8), at(0, 18))
    book(booked_first, at(0, 8), at(0, 10))
    running = listing(suzhou, "Free now")
    idle(running, at(-1, 20), at(0, 6))
    shared = listing(suzhou, "Two-slot chamber", category="T0205", capacity=2)
    idle(shared, at(0, 9), at(0, 17))
    book(shared, at(0, 9), at(0, 12))  # one slot left at 09:00
    full_day = listing(suzhou, "Fully booked")
    idle(full_day, at(0, 8), at(0, 12))
    book(full_day, at(0, 8), at(0, 12))
    listing(suzhou, "Never idle")

    now = at(0, 1)
    found = {r.name: r.next_free for r in selectors.catalogue_resources(now=now)}
    assert found == {
        "Booked first": at(0, 10),
        "Free now": now,
        "Two-slot chamber": at(0, 9),
        "Fully booked": None,
        "Never idle": None,
    }
    assert names({"sort": "soonest"}, now=now) == [
        "Free now",
        "Two-slot chamber",
        "Booked first",
        *sorted(["Fully booked", "Never idle"], key=lambda n: Resource.objects.get(name=n).pk),
    ]


def test_sort_by_price_and_newest(suzhou):
    listing(suzhou, "Mid", rate=Decimal("200.00"), listed_at=at(-3, 0))
    listing(suzhou, "Cheap", rate=Decimal("100.00"), listed_at=at(-5, 0))
    listing(suzhou, "Dear", rate=Decimal("300.00"), listed_at=at(-1, 0))
    assert names({"sort": "price"}) == ["Cheap", "Mid", "Dear"]
    assert names({"sort": "newest"}) == ["Dear", "Mid", "Cheap"]
    assert names({}) == ["Dear", "Mid", "Cheap"]
    assert "sort" in errors({"sort": "rating"})


# --- visibility -----------------------------------------------------------------------------


@pytest.fixture
def hidden_market(suzhou):
    """One visible resource and one of each kind buyers must never see."""
    unverified = provider("Unverified Works", status="unverified", slug="unverified-works")
    pending = provider("Pending Works", status="pending", slug="pending-works")
    suspended = provider("Suspended Works", status="suspended", slug="suspended-works")
    hidden = {
        "unverified": listing(unverified, "五轴 hidden unverified"),
        "pending provider": listing(pending, "五轴 hidden pending provider"),
        "suspended": listing(suspended, "五轴 hidden suspended"),
        "paused": listing(suzhou, "五轴 hidden paused", status="paused"),
        "draft": listing(suzhou, "五轴 hidden draft", status="draft"),
        "pending review": listing(suzhou, "五轴 hidden pending review", status="pending_review"),
        "retired": listing(suzhou, "五轴 hidden retired", status="retired"),
    }
    visible = listing(suzhou, "五轴 visible mill")
    return visible, hidden


def test_only_listed_resources_of_verified_providers_appear(client, hidden_market):
    visible, hidden = hidden_market
    for params in ({}, {"q": "五轴"}, {"q": "hidden"}, {"category": "P01"}):
        response = client.get(reverse("capacity:catalogue_list"), params)
        assert response.status_code == 200
        assert [r.pk for r in response.context["page"].object_list] == (
            [] if params.get("q") == "hidden" else [visible.pk]
        )
    for resource in hidden.values():
        assert client.get(reverse("capacity:catalogue_resource", kwargs={"pk": resource.pk})).status_code == 404
    assert client.get(reverse("capacity:catalogue_resource", kwargs={"pk": visible.pk})).status_code == 200
    for slug in ("unverified-works", "pending-works", "suspended-works", "nobody"):
        assert client.get(reverse("capacity:provider_public", kwargs={"slug": slug})).status_code == 404
    response = client.get(reverse("capacity:provider_public", kwargs={"slug": "suzhou-precision"}))
    assert [r.pk for r in response.context["resources"]] == [visible.pk]
    # The browse tree counts only the visible one.
    tree = {kind: majors for kind, _label, majors in selectors.category_tree()}
    p01 = next(m for m in tree["production"] if m.category.code == "P01")
    assert p01.count == 1
    assert [(c.category.code, c.count) for c in p01.children if c.count] == [("P0101", 1)]


def test_photos_are_served_only_while_their_owner_is_visible(client, hidden_market, suzhou):
    visible, hidden = hidden_market
    shown = ResourcePhoto.objects.create(resource=visible, image=ContentFile(TINY_PNG, name="mill.png"))
    secret = ResourcePhoto.objects.create(resource=hidden["suspended"], image=ContentFile(TINY_PNG, name="x.png"))
    paused = ResourcePhoto.objects.create(resource=hidden["paused"], image=ContentFile(TINY_PNG, name="y.png"))
    response = client.get(reverse("capacity:catalogue_photo", kwargs={"photo_id": shown.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == TINY_PNG
    for photo in (secret, paused):
        assert client.get(reverse("capacity:catalogue_photo", kwargs={"photo_id": photo.pk})).status_code == 404
    hall = ProviderPhoto.objects.create(profile=suzhou.provider_profile, image=ContentFile(TINY_PNG, name="h.png"))
    url = reverse("capacity:provider_photo", kwargs={"slug": "suzhou-precision", "photo_id": hall.pk})
    assert client.get(url).status_code == 200
    wrong = reverse("capacity:provider_photo", kwargs={"slug": "suspended-works", "photo_id": hall.pk})
    assert client.get(wrong).status_code == 404
    suzhou.provider_profile.status = "suspended"
    suzhou.provider_profile.save()
    assert client.get(url).status_code == 404
    # Uploads never live under a public URL.
    assert "/media/" not in client.get(reverse("capacity:catalogue_list")).content.decode()


# --- pages ----------------------------------------------------------------------------------


def test_browse_page_shows_counts_per_node(client, suzhou):
    listing(suzhou, "Mill A", category="P0101")
    listing(suzhou, "Mill B", category="P0101")
    listing(suzhou, "Lathe", category="P0102")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("capacity:catalogue"), {"kind": "production"})
    assert response.status_code == 200
    assert len(queries) == 2  # the taxonomy and one grouped count
    production = response.context["tree"]
    assert [kind for kind, _label, _majors in production] == ["production"]
    p01 = next(m for m in production[0][2] if m.category.code == "P01")
    assert p01.count == 3
    assert {c.category.code: c.count for c in p01.children if c.count} == {"P0101": 2, "P0102": 1}
    assert "?category=P0101" in response.content.decode()


def test_list_page_renders_cards_with_money_region_provider_and_next_free(client, suzhou, settings):
    settings.LANGUAGE_CODE = "en"
    mill = listing(suzhou, "DMU 50 five-axis", rate=Decimal("1280.50"))
    idle(mill, at(3650, 8), at(3650, 18))  # ten years ahead: "next free" never depends on today
    response = client.get(reverse("capacity:catalogue_list"), {"q": "DMU"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "DMU 50 five-axis" in html
    assert "CN¥1,280.50" in html
    assert "Suzhou, Jiangsu" in html
    assert "Suzhou Precision CNC" in html
    assert f'datetime="{at(3650, 8).isoformat()}"' in html
    assert 'name="part_x"' in html and 'id="catalogue-facets"' in html


def test_list_page_with_bad_input_shows_the_errors_and_no_results(client, suzhou):
    listing(suzhou, "Mill")
    response = client.get(reverse("capacity:catalogue_list"), {"max_rate": "cheap"})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert "max_rate" in response.context["form"].errors


def test_htmx_requests_get_only_the_results(client, suzhou):
    listing(suzhou, "Mill")
    response = client.get(
        reverse("capacity:catalogue_list"),
        {"kind": "production"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="catalogue-results",
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "Mill" in html


def test_list_query_count_does_not_grow_with_results(client, suzhou, beijing):
    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("capacity:catalogue_list"), {"category": "P01", "sort": "soonest"})
        assert response.status_code == 200
        return len(queries), len(response.context["page"].object_list)

    for i in range(3):
        listing(suzhou if i % 2 else beijing, f"Mill {i}", materials=["AL6061"])
    few, shown = count_queries()
    assert shown == 3
    for i in range(3, 30):
        listing(suzhou if i % 2 else beijing, f"Mill {i}", materials=["AL6061"])
    many, shown = count_queries()
    assert shown == 24
    assert few == many


def test_resource_page_shows_specs_rates_certificates_and_free_timeline(client, suzhou, settings):
    certify(suzhou, "ISO9001", date(2000, 1, 1), date(2099, 12, 31))
    certify(suzhou, "AS9100", date(2000, 1, 1), date(2001, 1, 1))  # long expired
    mill = listing(
        suzhou,
        "DMU 50",
        category="P0104",
        materials=["AL7075"],
        rate=Decimal("480.00"),
        setup_fee=Decimal("300.00"),
        minimum_charge=Decimal("960.00"),
        axes=5,
        extra_specs={"taper_angle_deg": 30, "nobody_knows": "x"},
    )
    response = client.get(reverse("capacity:catalogue_resource", kwargs={"pk": mill.pk}), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    specs = {s.key: (s.label, s.value, s.unit) for s in response.context["specs"]}
    assert specs["envelope_x_mm"] == ("Envelope X", "800", "mm")
    assert specs["tolerance_mm"] == ("Achievable tolerance", "0.01", "± mm")
    assert specs["axes"] == ("Axes", "5", "")
    assert specs["materials"] == ("Materials", "Aluminium alloy 7075", "")
    assert specs["taper_angle_deg"] == ("Max. taper angle", "30", "°")
    assert "nobody_knows" not in specs  # only specs the platform defines, with their labels
    for amount in ("CN¥480.00", "CN¥300.00", "CN¥960.00"):
        assert amount in html
    assert [c.standard for c in response.context["certificates"]] == ["ISO9001"]
    assert "ISO 9001" in html and "AS9100" not in html
    assert len(response.context["timeline"]) == 14
    assert 'class="timeline"' in html


def test_free_timeline_is_cut_into_local_days(suzhou):
    mill = listing(suzhou, "Night mill")
    idle(mill, at(0, 18), at(1, 6))
    book(mill, at(0, 20), at(0, 22))
    timeline, windows, zone = selectors.free_timeline(mill, now=at(0, 12), days=3)
    assert zone.key == "Asia/Shanghai"
    assert windows == [(at(0, 18), at(0, 20)), (at(0, 22), at(1, 6))]
    assert [(d.day, d.segments) for d in timeline] == [
        (date(2026, 12, 7), [(18 * 60, 20 * 60), (22 * 60, 24 * 60)]),
        (date(2026, 12, 8), [(0, 6 * 60)]),
        (date(2026, 12, 9), []),
    ]
    assert timeline[0].bars == [(1080, 120), (1320, 120)]


def test_spec_labels_follow_the_active_language(client, suzhou):
    mill = listing(suzhou, "Mill")
    url = reverse("capacity:catalogue_resource", kwargs={"pk": mill.pk})
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert ("工作行程 X", "800", "mm") in [(s.label, s.value, s.unit) for s in response.context["specs"]]


def test_provider_page_lists_profile_valid_certificates_and_listed_resources(client, suzhou):
    certify(suzhou, "ISO9001", date(2000, 1, 1), date(2099, 12, 31))
    certify(suzhou, "IATF16949", date(2000, 1, 1), date(2001, 1, 1))
    listing(suzhou, "Mill")
    listing(suzhou, "Paused mill", status="paused")
    response = client.get(reverse("capacity:provider_public", kwargs={"slug": "suzhou-precision"}))
    assert response.status_code == 200
    assert [c.standard for c in response.context["certificates"]] == ["ISO9001"]
    assert [r.name for r in response.context["resources"]] == ["Mill"]
    assert "Paused mill" not in response.content.decode()


def test_catalogue_is_first_in_the_navigation_for_everyone(client, provider_owner):
    for signed_in in (False, True):
        if signed_in:
            client.force_login(provider_owner)
        html = client.get(reverse("capacity:catalogue")).content.decode()
        nav = html.split('id="site-nav"')[1].split("</nav>")[0]
        first_link = nav.split("<li>")[1]
        assert reverse("capacity:catalogue") in first_link
    client.logout()
    assert reverse("capacity:catalogue") in client.get(reverse("home")).content.decode().split("</section>")[0]


# --- performance rewrites that must not change what buyers see ---------------------------------


def test_free_hours_of_a_capacity_one_resource_subtract_the_union_of_its_bookings(suzhou):
    """Capacity 1 takes the cheap path in SQL (the union of the bookings); overlapping
    non-exclusive bookings and one straddling the period's start count once, as in Python."""
    mill = listing(suzhou, "Mill")
    idle(mill, at(-1, 20), at(0, 2))
    idle(mill, at(0, 6), at(0, 20))
    for start, end, status in [
        (at(-1, 22), at(0, 1), "confirmed"),
        (at(0, 8), at(0, 11), "held"),
        (at(0, 10), at(0, 12), "confirmed"),
        (at(0, 15), at(0, 16), "released"),
    ]:
        Booking.objects.create(resource=mill, span=DateTimeTZRange(start, end, "[)"), status=status, exclusive=False)
    qs = selectors.free_for(selectors.catalogue_resources(now=MONDAY), start=at(0, 0), end=at(1, 0), hours=None)
    assert {r.name: r.free_hours for r in qs} == {"Mill": 11.0}  # 2 + 14 idle, minus 1 and 4 booked
    assert free_hours(mill, at(0, 0), at(1, 0)) == 11.0


@pytest.mark.parametrize("number", [None, "1", "2", "3", "4", "99", "0", "-1", "x", "2.5", ""])
def test_catalogue_page_is_the_page_the_paginator_gives(suzhou, number):
    for i in range(7):
        listing(suzhou, f"Mill {i}", rate=Decimal(100 + (i * 37) % 7))
    queryset = selectors.sorted_by(selectors.catalogue_resources(now=MONDAY), sort="price")
    expected = Paginator(queryset, 3).get_page(number)
    with CaptureQueriesContext(connection) as queries:
        page = selectors.catalogue_page(queryset, number, per_page=3)
    assert [r.pk for r in page.object_list] == [r.pk for r in expected.object_list]
    assert (page.paginator.count, page.paginator.num_pages) == (7, 3)
    assert (page.number, page.has_next(), page.has_previous()) == (
        expected.number,
        expected.has_next(),
        expected.has_previous(),
    )
    # Ids with the total, then the rows; a page out of range costs a count and a second fetch.
    assert len(queries) == {"4": 4, "99": 4, "0": 3, "-1": 3}.get(number, 2)
    assert all(r.next_free is None for r in page.object_list)  # the card's annotations are there


def test_catalogue_page_of_nothing_is_an_empty_first_page(suzhou):
    for queryset in (Resource.objects.none(), selectors.catalogue_resources(now=MONDAY)):
        page = selectors.catalogue_page(queryset, "3")
        assert (list(page.object_list), page.number, page.paginator.count) == ([], 1, 0)


def test_facet_selects_render_exactly_as_djangos_select(suzhou):
    bound = {"kind": "production", "category": "P01", "material": "AL6061", "province": "JS", "city": "JS-SZ"}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for data in (None, bound, {"category": "<b>", "city": 'x"&', "sort": "nope"}):
                form = CatalogueFilter(data, queryset=Resource.objects.all(), now=MONDAY).form
                rendered = 0
                for field in form:
                    if isinstance(field.field.widget, OptionsSelect):
                        fast = str(field)
                        field.field.widget.__class__ = forms.Select
                        assert fast == str(field), field.name
                        field.field.widget.__class__ = OptionsSelect
                        rendered += 1
                assert rendered == 7
