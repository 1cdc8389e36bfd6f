"""GET /api/v1/categories/: the public, read-only taxonomy."""

import pytest
from django.urls import reverse

from capacity.models import Category

pytestmark = pytest.mark.django_db


def test_anyone_lists_every_category_in_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/api/v1/categories/")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == Category.objects.count() == 340
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)
    assert rows[0] == {
        "code": "M01",
        "kind": "metrology",
        "parent": None,
        "name_zh": Category.objects.get(code="M01").name_zh,
        "name_en": Category.objects.get(code="M01").name_en,
        "attributes": Category.objects.get(code="M01").attributes,
    }
    assert set(rows[0]) == {"code", "kind", "parent", "name_zh", "name_en", "attributes"}


def test_a_minor_names_its_parent_by_code(client):
    response = client.get(reverse("category-detail", kwargs={"code": "P0101"}))
    assert response.status_code == 200
    assert response.json() == {
        "code": "P0101",
        "kind": "production",
        "parent": "P01",
        "name_zh": "数控铣削",
        "name_en": "CNC milling",
        "attributes": [
            "envelope_x_mm",
            "envelope_y_mm",
            "envelope_z_mm",
            "axes",
            "spindle_speed_rpm",
            "max_part_weight_kg",
            "tolerance_mm",
            "surface_finish_ra_um",
            "materials",
            "standards",
        ],
    }
    assert client.get(reverse("category-detail", kwargs={"code": "NOPE"})).status_code == 404


def test_filter_by_kind_and_parent(client):
    testing = client.get("/api/v1/categories/", {"kind": "testing"}).json()
    assert len(testing) == Category.objects.filter(kind="testing").count()
    assert {r["kind"] for r in testing} == {"testing"}
    minors = client.get("/api/v1/categories/", {"parent": "T02"}).json()
    assert [r["code"] for r in minors] == list(
        Category.objects.filter(parent__code="T02").order_by("code").values_list("code", flat=True)
    )
    assert "T0205" in [r["code"] for r in minors]
    majors = client.get("/api/v1/categories/", {"parent": "null", "kind": "metrology"}).json()
    assert [r["parent"] for r in majors] == [None] * Category.objects.filter(kind="metrology", parent=None).count()
    assert client.get("/api/v1/categories/", {"kind": "cooking"}).status_code == 400


def test_the_taxonomy_is_read_only(client, operator):
    client.force_login(operator)
    before = Category.objects.count()
    assert client.post("/api/v1/categories/", {"code": "X01", "kind": "production"}).status_code == 405
    assert client.delete(reverse("category-detail", kwargs={"code": "P0101"})).status_code == 405
    assert Category.objects.count() == before
