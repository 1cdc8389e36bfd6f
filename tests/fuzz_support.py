"""Helpers of the fuzzing tests: hypothesis strategies derived from a Django form's fields, and a
one-query fingerprint of every table of the project (to prove a refused request wrote nothing)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from django import forms
from django.apps import apps
from django.db import connection
from hypothesis import strategies as st

PROJECT_APPS = ("marketplace", "capacity", "billing")
MISSING = object()


@dataclass(frozen=True)
class Upload:
    """A file to post, built fresh for every request (an uploaded file object is read once)."""

    name: str
    content: bytes


# --- values ------------------------------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\t\r\n",
        "'; DROP TABLE marketplace_order; --",
        "<script>alert(1)</script>",
        "{{ 7|add:7 }}",
        "%s%s%n",
        "💥🔩",
        "\u202eevil",
        "铣削 五轴 加工中心",
        "None",
        "[]",
        "-1",
        "0",
        "-0",
        "1e308",
        "-1e308",
        "9" * 40,
        "-" + "9" * 40,
        "0.000000000000000000001",
        "1E+999999999",
        "NaN",
        "Infinity",
        "0x1F",
        "١٢٣",
        "2026-02-30",
        "2026-13-01T25:61",
        "0001-01-01T00:00",
        "0001-01-01",
        "9999-12-31T23:59",
        "9999-12-31",
        "2026-03-29T02:30",
        "on",
    ]
)
HUGE = st.sampled_from([101, 201, 256, 301, 2001, 2801, 4001, 8001, 100_001]).map(lambda n: "x" * n)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
GARBAGE = st.one_of(NASTY, HUGE, TEXT, st.integers(-(2**70), 2**70).map(str))

FILE_NAMES = st.sampled_from(
    [
        "drawing.pdf",
        "photo.png",
        "photo.jpg",
        "resources.csv",
        "resources.xlsx",
        "setup.exe",
        "noext",
        "a" * 300 + ".pdf",
    ]
)
FILE_CONTENT = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"\xff\xd8\xff\xe0garbage", b"MZ\x90\x00"]
    ).flatmap(lambda head: st.binary(max_size=200).map(lambda tail: head + tail)),
    st.just(b"name,category,rate\n\x00,,\n"),
)
UPLOADS = st.builds(Upload, FILE_NAMES, FILE_CONTENT)


def _choice_values(field) -> list[str]:
    if isinstance(field, forms.ModelChoiceField):
        if field.queryset is None:  # set by the form's __init__
            return []
        key = field.to_field_name or "pk"
        return [str(v) for v in field.queryset.model._default_manager.values_list(key, flat=True)[:40]]
    values, choices = [], getattr(field, "choices", None)
    try:
        items = list(choices() if callable(choices) else choices if choices is not None else [])
    except TypeError:  # django-filter's lazy choices over a callable
        items = list(choices.choices()) if callable(getattr(choices, "choices", None)) else []
    for key, label in items:
        if isinstance(label, (list, tuple)):
            values += [str(k) for k, _label in label]
        else:
            values.append(str(key))
    return [v for v in values if v != ""]


def plausible(field: forms.Field) -> st.SearchStrategy:
    """Values of the field's own type (so that some examples get past the first check)."""
    if isinstance(field, forms.FileField):
        return UPLOADS
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        values = _choice_values(field)
        return st.sampled_from(values) if values else GARBAGE
    if isinstance(field, forms.BooleanField | forms.NullBooleanField):
        return st.sampled_from(["on", "true", "1", "false", "0", ""])
    if isinstance(field, forms.IntegerField):
        return st.integers(-10, 10**6).map(str)
    if isinstance(field, forms.DecimalField | forms.FloatField):
        return st.decimals(min_value=-1000, max_value=10**9, places=2, allow_nan=False).map(str)
    if isinstance(field, forms.DateTimeField):
        return st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))
    if isinstance(field, forms.DateField):
        return st.dates(date(2000, 1, 1), date(2100, 1, 1)).map(date.isoformat)
    if isinstance(field, forms.EmailField):
        return st.emails()
    if isinstance(field, forms.URLField) or "url" in (field.label or "").lower():
        return st.sampled_from(
            [
                "https://erp.example.com/hooks",
                "http://127.0.0.1/x",
                "https://10.0.0.1/",
                "ftp://x",
                "https://例子.测试/",
            ]
        )
    if isinstance(field, forms.RegexField):
        return st.sampled_from(["pm_card_visa", "pm_", "pm_" + "a" * 101, "tok_visa"])
    return TEXT


def value_for(field: forms.Field) -> st.SearchStrategy:
    """Missing, well-typed or garbage; a list of them for fields that take several values."""
    one = st.one_of(plausible(field), UPLOADS if isinstance(field, forms.FileField) else GARBAGE)
    if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        return st.one_of(st.just(MISSING), st.lists(one, max_size=6))
    return st.one_of(st.just(MISSING), one)


def form_data(fields: dict[str, forms.Field], *, prefix: str | None = None) -> st.SearchStrategy:
    """A dict of posted values for ``fields`` (MISSING values are left out), plus stray keys."""
    names = {name: (f"{prefix}-{name}" if prefix else name) for name in fields}
    values = st.fixed_dictionaries({names[name]: value_for(field) for name, field in fields.items()})
    stray = st.dictionaries(st.sampled_from(["action", "next", "id", "pk", "csrfmiddlewaretoken"]), GARBAGE, max_size=2)
    return st.builds(
        lambda given, extra: {k: v for k, v in {**extra, **given}.items() if v is not MISSING}, values, stray
    )


def encode(data: dict, *, files: bool):
    """Turn drawn values into what the test client posts (files as fresh upload objects)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def one(value):
        if isinstance(value, Upload):
            return SimpleUploadedFile(value.name, value.content) if files else value.name
        return value

    return {k: [one(v) for v in value] if isinstance(value, list) else one(value) for k, value in data.items()}


# --- the database, fingerprinted ----------------------------------------------------------------


def _tables() -> list[str]:
    tables = []
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if not model._meta.managed or model._meta.proxy:
                continue
            tables.append(model._meta.db_table)
    return sorted(set(tables))


def table_digest() -> dict[str, str]:
    """Every row of every table of the project apps, hashed per table, in one query."""
    quote = connection.ops.quote_name
    digest = "(SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {} x)"
    # Table names of our own models, quoted: nothing of a request reaches this SQL.
    parts = [f"SELECT '{table}', " + digest.format(quote(table)) for table in _tables()]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return dict(cursor.fetchall())


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(t for t in before if before[t] != after.get(t))


# --- which forms a request bound ----------------------------------------------------------------


@contextmanager
def bound_forms(form_class):
    """Record every bound instance of ``form_class`` whose fields were cleaned during the block.

    The form's own full_clean runs unchanged; this only notes the instance."""
    seen: list = []
    original = form_class.full_clean
    had_own = "full_clean" in form_class.__dict__

    def full_clean(self):
        original(self)
        if self.is_bound and isinstance(self, form_class):
            seen.append(self)

    form_class.full_clean = full_clean
    try:
        yield seen
    finally:
        if had_own:
            form_class.full_clean = original
        else:
            del form_class.full_clean
