"""Bulk import from CSV / XLSX: all rows or nothing, a row-by-row report, and a clean round trip."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from capacity.models import Category, Material, Measurand, Resource
from capacity.services.imports import HEADER, RowError
from tests.factories import ResourceFactory

IMPORT_URL = reverse("capacity:workspace_resource_import")


def csv_file(rows, name="resources.csv"):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")


MILL = {"category": "P0101", "name": "Haas VF-2", "materials": "AL6061; C45", "envelope_x_mm": "762", "rate": "150"}
CMM = {
    "category": "M0101",
    "name": "Zeiss Contura",
    "measurand": "length",
    "range_min": "0",
    "range_max": "1000",
    "range_unit": "mm",
    "uncertainty": "(1.8 + L/300) µm",
    "other_specs": "resolution_um=0.1",
    "rate": "400",
}


@pytest.mark.django_db
def test_valid_rows_become_drafts(client_for, provider_org, provider_member):
    response = client_for(provider_member).post(IMPORT_URL, {"file": csv_file([MILL, CMM])})
    assert response.status_code == 302
    mill, cmm = Resource.objects.order_by("pk")
    assert (mill.name, mill.status, mill.provider, mill.currency, mill.billing_increment_minutes) == (
        "Haas VF-2",
        "draft",
        provider_org,
        "CNY",
        15,
    )
    assert sorted(mill.materials.values_list("code", flat=True)) == ["AL6061", "C45"]
    assert (cmm.measurand.code, cmm.range_unit, cmm.extra_specs) == ("length", "mm", {"resolution_um": 0.1})


@pytest.mark.django_db
def test_one_bad_row_imports_nothing_and_reports_every_problem(client_for, provider_member):
    bad = {**MILL, "name": "", "rate": "cheap", "materials": "UNOBTAINIUM", "measurand": "length"}
    unknown_category = {"category": "P9999", "name": "x", "rate": "1"}
    response = client_for(provider_member).post(IMPORT_URL, {"file": csv_file([MILL, bad, unknown_category])})
    assert response.status_code == 200
    assert response.context["errors"] == [
        RowError(3, "materials", "Unknown material code UNOBTAINIUM."),
        RowError(3, "measurand", "Category P0101 has no such spec; leave it blank."),
        RowError(3, "name", "This field is required."),
        RowError(3, "rate", "Enter a number."),
        RowError(4, "category", "Unknown category code P9999."),
    ]
    assert Resource.objects.count() == 0


@pytest.mark.django_db
def test_the_report_is_translated(client_for, provider_member, client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    response = client_for(provider_member).post(IMPORT_URL, {"file": csv_file([{"category": "P9999"}])})
    assert response.context["errors"] == [RowError(2, "category", "未知的能力类别代码 P9999。")]


@pytest.mark.django_db
def test_wrong_header_and_non_spreadsheets_are_refused(client_for, provider_member):
    client = client_for(provider_member)
    wrong = SimpleUploadedFile("r.csv", b"kategorie,name\nP0101,x\n")
    response = client.post(IMPORT_URL, {"file": wrong})
    assert response.context["errors"] == [
        RowError(1, "kategorie", "Unknown column; use the template's header."),
        RowError(1, "category", "This column is missing."),
        RowError(1, "rate", "This column is missing."),
    ]
    binary = SimpleUploadedFile("r.csv", b"MZ\x90\x00\x00\x00\xff\xfe")
    response = client.post(IMPORT_URL, {"file": binary})
    assert response.context["form"].errors["file"] == ["Upload a CSV or Excel (.xlsx) file."]
    assert Resource.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimports_cleanly(client_for, provider_org, provider_member, fmt):
    mill = ResourceFactory(provider=provider_org, status="listed", standards=["GB/T 1804", "ISO 2768"], year=2018)
    mill.materials.set(Material.objects.filter(code__in=["AL6061", "TC4"]))
    ResourceFactory(
        provider=provider_org,
        status="draft",
        name="万能材料试验机",
        category=Category.objects.get(code="T0101"),
        envelope_x_mm=None,
        envelope_y_mm=None,
        envelope_z_mm=None,
        max_part_weight_kg=None,
        tolerance_mm=None,
        axes=None,
        measurand=Measurand.objects.get(code="tensile_strength"),
        max_force_kn="100.00",
        range_min="0.5",
        range_max="100",
        range_unit="kN",
        billing_unit="part",
        cycle_time_minutes="20",
    )
    client = client_for(provider_member)
    exported = client.get(reverse(f"capacity:workspace_export_{fmt}"))
    assert exported.status_code == 200
    fields = ["category_id", "name", "year", "standards", "envelope_x_mm", "tolerance_mm", "axes", "max_force_kn"]
    fields += ["measurand_id", "range_min", "range_max", "range_unit", "billing_unit", "rate", "setup_fee"]
    fields += ["cycle_time_minutes", "currency", "capacity", "extra_specs"]
    before = list(Resource.objects.order_by("pk").values(*fields))
    upload = SimpleUploadedFile(f"export.{fmt}", exported.content)
    response = client.post(IMPORT_URL, {"file": upload})
    assert response.status_code == 302, response.context and response.context["errors"]
    after = list(Resource.objects.order_by("pk").values(*fields))[2:]
    assert after == before
    copies = Resource.objects.order_by("pk")[2:]
    assert [c.status for c in copies] == ["draft", "draft"]
    assert sorted(copies[0].materials.values_list("code", flat=True)) == ["AL6061", "TC4"]


@pytest.mark.django_db
def test_templates_carry_the_documented_header(client_for, provider_member):
    client = client_for(provider_member)
    text = client.get(reverse("capacity:workspace_import_template_csv")).content.decode("utf-8-sig")
    assert text.splitlines() == [",".join(HEADER)]
    workbook = load_workbook(io.BytesIO(client.get(reverse("capacity:workspace_import_template_xlsx")).content))
    assert [c.value for c in workbook.worksheets[0][1]] == HEADER
    assert workbook.sheetnames == ["resources", "columns"]
