"""Bulk import and export of a provider's resources as CSV or Excel (XLSX).

One row per resource, in the column layout of COLUMNS (the downloadable templates carry the
same header). Every row is validated with the same form as the workspace editor; if any row
is invalid nothing is imported, and the report lists every problem by row and column.
Imported resources are drafts. An export re-imports cleanly.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from capacity.forms import ResourceForm
from capacity.models import Category, Material, Measurand, Resource, SpecAttribute
from capacity.services.resources import SPEC_COLUMNS, create_resource
from marketplace.errors import DomainError
from marketplace.models import Organisation, User

MAX_ROWS = 2000
MAX_FILE_BYTES = 10 * 1024 * 1024

# (column, description) in file order. Typed spec columns are named after Resource fields.
COLUMNS: list[tuple[str, Any]] = [
    ("category", gettext_lazy("Category code (minor category), e.g. P0101. Required.")),
    ("name", gettext_lazy("Name of the machine or service. Required.")),
    ("make", gettext_lazy("Manufacturer.")),
    ("model", gettext_lazy("Model.")),
    ("year", gettext_lazy("Year built, e.g. 2019.")),
    ("description", gettext_lazy("Free text.")),
    ("materials", gettext_lazy("Material codes separated by semicolons, e.g. AL6061; S45C.")),
    ("standards", gettext_lazy("Standards separated by semicolons, e.g. GB/T 1804; ISO 2768.")),
    *[
        (key, gettext_lazy("Spec of the category (see its attributes); leave blank if not applicable."))
        for key in SPEC_COLUMNS
    ],
    ("other_specs", gettext_lazy("Other specs of the category as key=value separated by semicolons.")),
    ("billing_unit", gettext_lazy("machine_hour or part (default machine_hour).")),
    ("rate", gettext_lazy("Rate per billing unit, e.g. 180.00. Required.")),
    ("setup_fee", gettext_lazy("Setup fee per job (default 0).")),
    ("minimum_charge", gettext_lazy("Minimum charge per job (default 0).")),
    ("currency", gettext_lazy("CNY, USD, EUR, HKD or JPY (default: the organisation's currency).")),
    ("billing_increment_minutes", gettext_lazy("Billing increment in minutes (default 15).")),
    ("cycle_time_minutes", gettext_lazy("Typical cycle time per part in minutes; required when billed per part.")),
    ("lead_time_buffer_hours", gettext_lazy("Lead-time buffer in hours (default 24).")),
    ("capacity", gettext_lazy("Jobs or specimens at once (default 1).")),
]
HEADER = [name for name, _description in COLUMNS]
REQUIRED = {"category", "name", "rate"}
DEFAULTS = {
    "billing_unit": Resource.BillingUnit.MACHINE_HOUR,
    "setup_fee": "0",
    "minimum_charge": "0",
    "billing_increment_minutes": "15",
    "lead_time_buffer_hours": "24",
    "capacity": "1",
}
# Form field → file column, where they differ.
FORM_TO_COLUMN = {"model_name": "model"}


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number: the header is row 1
    column: str
    message: str


@dataclass
class ImportResult:
    errors: list[RowError]
    created: list[Resource]


# --- Reading ---------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value).strip()


def read_rows(upload) -> list[list[str]]:
    """All rows of a CSV or XLSX upload as strings (XLSX recognised by content)."""
    if upload.size > MAX_FILE_BYTES:
        raise DomainError(_("The file is larger than 10 MB."), code="too_large")
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head == b"PK\x03\x04":
        return _read_xlsx(upload)
    return _read_csv(upload.read())


def _read_xlsx(upload) -> list[list[str]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(upload, read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as error:
        raise DomainError(_("This Excel file cannot be read."), code="unreadable") from error
    sheet = workbook.worksheets[0]
    rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def _read_csv(raw: bytes) -> list[list[str]]:
    if b"\x00" in raw[:4096]:
        raise DomainError(_("Upload a CSV or Excel (.xlsx) file."), code="type")
    # Excel saves CSV as UTF-8 with a BOM, or in GB18030 on Chinese Windows.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError(_("The CSV file is not UTF-8 or GB18030 text."), code="encoding")
    try:
        # newline="" lets the csv module handle \r, \n and quoted line breaks itself.
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise DomainError(
            _("This CSV file cannot be read (%(problem)s).") % {"problem": error}, code="unreadable"
        ) from error


# --- Validation ------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("；", ";").split(";") if part.strip()]


class _Lookups:
    """Reference rows by code, loaded once per import."""

    def __init__(self):
        self.categories = {c.code: c for c in Category.objects.filter(parent__isnull=False)}
        self.materials = {m.code: m for m in Material.objects.all()}
        self.measurands = {m.code: m for m in Measurand.objects.all()}
        self.attributes = SpecAttribute.objects.in_bulk(field_name="key")


def _row_form(
    values: dict[str, str], row: int, lookups: _Lookups, organisation: Organisation
) -> tuple[ResourceForm | None, list[RowError]]:
    errors: list[RowError] = []
    category = lookups.categories.get(values.get("category", "").upper())
    if category is None:
        message = (
            _("Unknown category code %(code)s.") % {"code": values["category"]}
            if values.get("category")
            else _("This column is required.")
        )
        return None, [RowError(row, "category", message)]
    allowed = set(category.attributes)
    data: dict[str, Any] = {
        "category": str(category.pk),
        "name": values.get("name", ""),
        "make": values.get("make", ""),
        "model_name": values.get("model", ""),
        "year": values.get("year", ""),
        "description": values.get("description", ""),
        "standards": "\n".join(_split(values.get("standards", ""))),
    }
    material_pks = []
    for code in _split(values.get("materials", "")):
        material = lookups.materials.get(code.upper())
        if material is None:
            errors.append(RowError(row, "materials", _("Unknown material code %(code)s.") % {"code": code}))
        else:
            material_pks.append(str(material.pk))
    data["materials"] = material_pks
    for key in SPEC_COLUMNS:
        value = values.get(key, "")
        if not value:
            continue
        if key not in allowed:
            errors.append(
                RowError(row, key, _("Category %(code)s has no such spec; leave it blank.") % {"code": category.code})
            )
            continue
        if key == "measurand":
            measurand = lookups.measurands.get(value.lower())
            if measurand is None:
                errors.append(RowError(row, key, _("Unknown measurand code %(code)s.") % {"code": value}))
                continue
            value = str(measurand.pk)
        data[f"spec_{key}"] = value
    for pair in _split(values.get("other_specs", "")):
        key, sep, value = pair.partition("=")
        key = key.strip()
        attribute = lookups.attributes.get(key)
        if not sep or attribute is None or attribute.typed or key not in allowed:
            errors.append(
                RowError(
                    row,
                    "other_specs",
                    _("%(pair)s is not a key=value spec of category %(code)s.") % {"pair": pair, "code": category.code},
                )
            )
            continue
        data[f"spec_{key}"] = value.strip()
    for name in ResourceForm.RATE_FIELDS:
        data[name] = values.get(name, "") or DEFAULTS.get(name, "")
    if not data["currency"]:
        data["currency"] = organisation.currency
    form = ResourceForm(data, category=category)
    if not form.is_valid():
        for field, messages in form.errors.items():
            if field == "__all__":
                column = "category"
            elif field.startswith("spec_"):
                key = field.removeprefix("spec_")
                column = key if key in SPEC_COLUMNS else "other_specs"
            else:
                column = FORM_TO_COLUMN.get(field, field)
            errors.extend(RowError(row, column, str(message)) for message in messages)
    return (form if not errors else None), errors


def validate_rows(rows: list[list[str]], *, organisation: Organisation) -> tuple[list[ResourceForm], list[RowError]]:
    """Check the header and every row; returns the valid forms and all errors."""
    rows = list(rows)
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        return [], [RowError(1, "", _("The file is empty."))]
    header = [h.strip().lower() for h in rows[0]]
    errors: list[RowError] = []
    unknown = [h for h in header if h and h not in HEADER]
    for name in unknown:
        errors.append(RowError(1, name, _("Unknown column; use the template's header.")))
    for name in sorted(REQUIRED - set(header)):
        errors.append(RowError(1, name, _("This column is missing.")))
    if errors:
        return [], errors
    data_rows = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    if not data_rows:
        return [], [RowError(2, "", _("The file has a header but no resources."))]
    if len(data_rows) > MAX_ROWS:
        return [], [RowError(1, "", _("At most %(n)d resources per file.") % {"n": MAX_ROWS})]
    lookups = _Lookups()
    forms: list[ResourceForm] = []
    for number, row in data_rows:
        values = {header[i]: (row[i] if i < len(row) else "").strip() for i in range(len(header)) if header[i]}
        form, row_errors = _row_form(values, number, lookups, organisation)
        errors.extend(row_errors)
        if form is not None:
            forms.append(form)
    return forms, errors


@transaction.atomic
def import_resources(*, organisation: Organisation, actor: User, upload) -> ImportResult:
    """Validate every row, then create them all as drafts in one transaction — or nothing."""
    rows = read_rows(upload)
    forms, errors = validate_rows(rows, organisation=organisation)
    if errors:
        return ImportResult(errors=errors, created=[])
    created = [
        create_resource(
            provider=organisation, actor=actor, fields=form.resource_fields(), materials=form.materials_list()
        )
        for form in forms
    ]
    return ImportResult(errors=[], created=created)


# --- Writing ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def resource_row(resource: Resource) -> list[str]:
    values = {
        "category": resource.category.code,
        "name": resource.name,
        "make": resource.make,
        "model": resource.model_name,
        "year": _text(resource.year),
        "description": resource.description,
        "materials": "; ".join(m.code for m in resource.materials.all()),
        "standards": "; ".join(resource.standards or []),
        "other_specs": "; ".join(f"{k}={_text(v)}" for k, v in sorted((resource.extra_specs or {}).items())),
    }
    for key in SPEC_COLUMNS:
        values[key] = resource.measurand.code if key == "measurand" and resource.measurand_id else ""
        if key != "measurand":
            values[key] = _text(getattr(resource, key))
    for name in ResourceForm.RATE_FIELDS:
        values[name] = _text(getattr(resource, name))
    return [values[name] for name in HEADER]


def export_queryset(organisation: Organisation):
    return (
        Resource.objects.filter(provider=organisation)
        .exclude(status=Resource.Status.RETIRED)
        .select_related("category", "measurand")
        .prefetch_related("materials")
        .order_by("pk")
    )


def write_csv(resources) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for resource in resources:
        writer.writerow(resource_row(resource))
    # With a BOM so that Excel opens the Chinese text correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(resources) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "resources"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for resource in resources:
        # Text cells throughout: codes such as "0.0100" or "AL6061" stay exactly as written.
        sheet.append(resource_row(resource))
    guide = workbook.create_sheet("columns")
    guide.append([_("Column"), _("Meaning")])
    for name, description in COLUMNS:
        guide.append([name, str(description)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
