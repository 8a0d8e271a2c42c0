"""Rewrites the README's table of layers from the catalogue (``make readme``)."""

from __future__ import annotations

import re
from pathlib import Path

from geo_service.catalogue import load_catalogue
from geo_service.reports import README_TABLE_END, README_TABLE_START, markdown_table

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    table = markdown_table(load_catalogue(ROOT / "layers" / "catalogue.json"))
    pattern = re.compile(re.escape(README_TABLE_START) + ".*?" + re.escape(README_TABLE_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {README_TABLE_START} … {README_TABLE_END} block")
    block = f"{README_TABLE_START}\n{table}\n{README_TABLE_END}"
    readme.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    print("README.md: table of layers updated")


if __name__ == "__main__":
    main()
