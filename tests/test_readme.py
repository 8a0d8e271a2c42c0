"""The README stays true: its table of layers and its two commands."""

import re

from geo_service.catalogue import load_catalogue
from geo_service.reports import README_TABLE_END, README_TABLE_START, markdown_table
from tests.conftest import BUNDLED_LAYERS, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_layer_table_matches_the_catalogue():
    block = re.search(re.escape(README_TABLE_START) + r"\n(.*?)\n" + re.escape(README_TABLE_END), README, re.S)
    assert block, "README has no generated table of layers"
    assert block.group(1) == markdown_table(load_catalogue(BUNDLED_LAYERS / "catalogue.json")), \
        "README table is stale: run `make readme`"


def test_readme_commands_exist_in_the_makefile_and_ci():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "test", "layers", "check-layers", "readme"):
        assert f"make {target}" in README
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
