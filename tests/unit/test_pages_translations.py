"""Every page string exists in French and Simplified Chinese, compiled, with its placeholders intact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "edge_server" / "translations"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
FIX = ("run `pybabel extract -F edge_server/translations/babel.cfg -k _l -k lazy_gettext --no-location "
       "--sort-output -o edge_server/translations/messages.pot edge_server`, translate the new strings in "
       "edge_server/translations/{fr,zh}/LC_MESSAGES/messages.po, then `pybabel compile -d edge_server/translations`")


def _ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


def _flat(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _pairs(catalog) -> dict:
    """msgid -> translation, plural forms as tuples (the .mo reader gives lists)."""
    return {_flat(m.id): _flat(m.string) for m in catalog if m.id}


def test_the_template_catalog_holds_every_string_the_code_and_templates_use(tmp_path):
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "extract", "-F", str(TRANSLATIONS / "babel.cfg"), "-k", "_l", "-k",
                    "lazy_gettext", "--no-location", "-o", str(fresh), "edge_server"],
                   cwd=REPO, check=True, capture_output=True)
    with fresh.open("rb") as now, (TRANSLATIONS / "messages.pot").open("rb") as kept:
        missing = _ids(read_po(now)) - _ids(read_po(kept))
    assert not missing, f"strings not in messages.pot: {sorted(map(str, missing))[:5]}: {FIX}"


@pytest.mark.parametrize("lang", ["fr", "zh"])
def test_every_string_is_translated_compiled_and_keeps_its_placeholders(lang):
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        wanted = _ids(read_po(fh))
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as fh:
        po = read_po(fh)
    with (folder / "messages.mo").open("rb") as fh:
        mo = read_mo(fh)
    untranslated = [m.id for m in po if m.id and (not m.string or not all(m.string if isinstance(m.string, tuple)
                                                                          else [m.string]))]
    assert not untranslated and wanted <= _ids(po), f"{lang}: untranslated {sorted(map(str, untranslated))[:5]}: {FIX}"
    assert _pairs(mo) == _pairs(po), f"stale .mo: {FIX}"
    for message in po:
        if not message.id:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        for target in targets:
            assert set(PLACEHOLDER.findall(target)) == set(PLACEHOLDER.findall(source)), (lang, source, target)
