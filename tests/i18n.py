"""Find user-facing strings that lack a zh-Hans translation.

Extraction mirrors Django's makemessages without needing GNU gettext: Python files through
Babel's extractor, templates through Django's own ``templatize`` (what makemessages feeds to
xgettext), JavaScript through Babel's JS extractor. Each msgid must be in the .po catalogue
with a non-empty, non-fuzzy translation.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import polib
from babel.messages.extract import extract_javascript, extract_python
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["marketplace", "capacity", "billing", "templates"]
JS_DIRS = ["static/js"]
CATALOGUES = {
    "django": ROOT / "locale/zh_Hans/LC_MESSAGES/django.po",
    "djangojs": ROOT / "locale/zh_Hans/LC_MESSAGES/djangojs.po",
}
PY_KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
JS_KEYWORDS = {"gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}


def _messages(extracted) -> Iterable[tuple[str | None, str, str | None]]:
    """Yield (context, msgid, msgid_plural) from Babel extractor output."""
    for _lineno, funcname, message, _comments in extracted:
        context = None
        if funcname.startswith(("pgettext", "npgettext")):
            context, *rest = message
            message = tuple(rest) if len(rest) > 1 else rest[0]
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
        else:
            singular, plural = message, None
        if singular:
            yield context, singular, plural


def extract_file(path: Path) -> list[tuple[str | None, str, str | None]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return list(_messages(extract_python(io.BytesIO(text.encode()), PY_KEYWORDS, [], {})))
    if path.suffix in {".html", ".txt"}:
        code = templatize(text, origin=str(path))
        return list(_messages(extract_python(io.BytesIO(code.encode()), PY_KEYWORDS, [], {})))
    if path.suffix == ".js":
        return list(_messages(extract_javascript(io.BytesIO(text.encode()), JS_KEYWORDS, [], {})))
    return []


def source_files(root: Path = ROOT) -> dict[str, list[Path]]:
    django_files: list[Path] = []
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if "migrations" in path.parts or "__pycache__" in path.parts:
                continue
            if path.suffix in {".py", ".html", ".txt"} and path.is_file():
                django_files.append(path)
    js_files = [p for folder in JS_DIRS for p in sorted((root / folder).rglob("*.js"))]
    return {"django": django_files, "djangojs": js_files}


def untranslated(files: dict[str, list[Path]] | None = None) -> list[str]:
    """Return one line per string that has no usable zh-Hans translation."""
    files = files or source_files()
    problems: list[str] = []
    for domain, paths in files.items():
        catalogue_path = CATALOGUES[domain]
        entries = {}
        if catalogue_path.exists():
            for entry in polib.pofile(str(catalogue_path)):
                if not entry.obsolete:
                    entries[(entry.msgctxt, entry.msgid)] = entry
        for path in paths:
            for context, msgid, plural in extract_file(path):
                entry = entries.get((context, msgid))
                where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {msgid!r}"
                if entry is None:
                    problems.append(f"{where} is not in {catalogue_path.name} (run `make messages`)")
                elif "fuzzy" in entry.flags:
                    problems.append(f"{where} is marked fuzzy")
                elif plural and not all(entry.msgstr_plural.values()):
                    problems.append(f"{where} has no plural translation")
                elif not plural and not entry.msgstr:
                    problems.append(f"{where} has no translation")
    return problems
