"""Reference data shipped with Spindle: the taxonomy, spec attributes, materials, measurands
and regions (JSON under capacity/data/). Loaded by a data migration and by
``manage.py load_reference_data``; loading is an upsert by code, so operators' additions stay.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# Specs stored as typed Resource columns: (label_zh, label_en, unit, type).
TYPED_ATTRIBUTES = {
    "envelope_x_mm": ("工作行程 X", "Envelope X", "mm", "number"),
    "envelope_y_mm": ("工作行程 Y", "Envelope Y", "mm", "number"),
    "envelope_z_mm": ("工作行程 Z", "Envelope Z", "mm", "number"),
    "max_part_weight_kg": ("最大工件重量", "Max. part weight", "kg", "number"),
    "tolerance_mm": ("可达公差", "Achievable tolerance", "± mm", "number"),
    "surface_finish_ra_um": ("表面粗糙度 Ra", "Surface finish Ra", "µm", "number"),
    "axes": ("轴数", "Axes", "", "number"),
    "spindle_speed_rpm": ("主轴转速", "Spindle speed", "rpm", "number"),
    "max_force_kn": ("最大力值", "Max. force", "kN", "number"),
    "materials": ("可加工材料", "Materials", "", "text"),
    "standards": ("标准", "Standards", "", "text"),
    "measurand": ("被测量", "Measurand", "", "text"),
    "range_min": ("测量范围下限", "Range from", "", "number"),
    "range_max": ("测量范围上限", "Range to", "", "number"),
    "range_unit": ("范围单位", "Range unit", "", "text"),
    "uncertainty": ("不确定度 / 准确度", "Uncertainty / accuracy", "", "text"),
    "accreditation_ref": ("认可编号", "Accreditation reference", "", "text"),
    "temperature_min_c": ("最低温度", "Min. temperature", "°C", "number"),
    "temperature_max_c": ("最高温度", "Max. temperature", "°C", "number"),
}


@cache
def read(name: str):
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))


def regions() -> list[dict]:
    return read("regions")


@cache
def province_names() -> dict[str, tuple[str, str]]:
    return {p["code"]: (p["name_zh"], p["name_en"]) for p in regions()}


@cache
def city_index() -> dict[tuple[str, str], dict]:
    return {(p["code"], c["code"]): c for p in regions() for c in p["cities"]}


def load_reference_data(apps=None, using: str = "default") -> dict[str, int]:
    """Upsert every reference row into database ``using``; returns counts. ``apps`` is the
    migration state, if any."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps

    class _On:
        """``Model.objects`` bound to the database being loaded."""

        def __init__(self, model):
            self.objects = model.objects.db_manager(using)

    Category = _On(apps.get_model("capacity", "Category"))
    SpecAttribute = _On(apps.get_model("capacity", "SpecAttribute"))
    Material = _On(apps.get_model("capacity", "Material"))
    Measurand = _On(apps.get_model("capacity", "Measurand"))

    taxonomy = read("taxonomy")
    for key, (label_zh, label_en, unit, kind) in TYPED_ATTRIBUTES.items():
        SpecAttribute.objects.update_or_create(
            key=key, defaults={"label_zh": label_zh, "label_en": label_en, "unit": unit, "type": kind, "typed": True}
        )
    for key, spec in taxonomy["extra_attributes"].items():
        SpecAttribute.objects.update_or_create(
            key=key,
            defaults={
                "label_zh": spec["label_zh"],
                "label_en": spec["label_en"],
                "unit": spec.get("unit", ""),
                "type": spec.get("type", "number"),
                "typed": False,
            },
        )
    by_code = {}
    # Majors first so minors can point at them.
    for row in sorted(taxonomy["categories"], key=lambda r: (r["parent"] is not None, r["code"])):
        category, _ = Category.objects.update_or_create(
            code=row["code"],
            defaults={
                "kind": row["kind"],
                "parent": by_code.get(row["parent"]),
                "name_zh": row["name_zh"],
                "name_en": row["name_en"],
                "attributes": row.get("attributes", []),
                "measurand": row.get("measurand", ""),
            },
        )
        by_code[row["code"]] = category
    for row in read("materials"):
        Material.objects.update_or_create(
            code=row["code"], defaults={"family": row["family"], "name_zh": row["name_zh"], "name_en": row["name_en"]}
        )
    for row in read("measurands"):
        Measurand.objects.update_or_create(
            code=row["code"], defaults={"name_zh": row["name_zh"], "name_en": row["name_en"], "units": row["units"]}
        )
    return {
        "categories": len(by_code),
        "attributes": SpecAttribute.objects.count(),
        "materials": Material.objects.count(),
        "measurands": Measurand.objects.count(),
    }
