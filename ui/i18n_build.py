"""Refresh the translations: extract strings (pyside6-lupdate), fill zh_CN from its glossary, compile (.qm).

Run: ``.venv/bin/python -m ui.i18n_build``. Strings missing from the glossary are listed and left unfinished.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from ui.i18n import TRANSLATIONS

UI = Path(__file__).resolve().parent


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def fill(ts: Path, glossary: dict[str, str]) -> list[str]:
    """Write glossary translations into a .ts file; returns the sources still untranslated."""
    tree = ET.parse(ts)
    missing = []
    for message in tree.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        if translation is None:
            continue
        text = glossary.get(source)
        if text is None:
            missing.append(source)
            translation.set("type", "unfinished")
            continue
        translation.text = text
        translation.attrib.pop("type", None)
    tree.write(ts, encoding="utf-8", xml_declaration=True)
    return missing


def main() -> int:
    """Extract, fill and compile zh_CN."""
    sources = sorted(str(p) for p in UI.rglob("*.py") if p.name != "i18n_build.py")
    ts = TRANSLATIONS / "vomid_zh_CN.ts"
    subprocess.run([_tool("pyside6-lupdate"), *sources, "-no-obsolete", "-ts", str(ts)], check=True)
    glossary = json.loads((TRANSLATIONS / "zh_CN.json").read_text(encoding="utf-8"))
    missing = fill(ts, glossary)
    subprocess.run([_tool("pyside6-lrelease"), str(ts), "-qm", str(TRANSLATIONS / "vomid_zh_CN.qm")], check=True)
    for source in missing:
        print(f"untranslated: {source}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
