"""Every user-facing string has a zh-Hans translation, and the compiled catalogue is current."""

from pathlib import Path

import polib

from tests import i18n


def test_every_string_is_translated():
    problems = i18n.untranslated()
    assert problems == [], "Untranslated strings:\n" + "\n".join(problems)


def test_the_check_catches_a_new_untranslated_string(tmp_path: Path):
    module = tmp_path / "new_feature.py"
    module.write_text(
        'from django.utils.translation import gettext as _\nLABEL = _("A string nobody translated yet")\n'
    )
    template = tmp_path / "new_page.html"
    template.write_text('{% load i18n %}<h1>{% translate "Another fresh heading" %}</h1>')
    script = tmp_path / "widget.js"
    script.write_text('alert(gettext("A fresh script message"));')

    problems = i18n.untranslated({"django": [module, template], "djangojs": [script]})

    assert len(problems) == 3
    assert "A string nobody translated yet" in problems[0]
    assert "Another fresh heading" in problems[1]
    assert "A fresh script message" in problems[2]


def test_compiled_catalogue_matches_the_po_file():
    po = polib.pofile(str(i18n.CATALOGUES["django"]))
    mo = polib.mofile(str(i18n.CATALOGUES["django"].with_suffix(".mo")))
    translated = {(e.msgctxt, e.msgid): e.msgstr for e in po.translated_entries() if not e.msgid_plural}
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo if not e.msgid_plural and e.msgid}
    assert translated == compiled, "locale .mo is stale: run `make messages`"
