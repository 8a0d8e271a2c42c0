"""A pytest plugin for running ``ogctests`` (PyPI) against the service: two slips of its filtering harness
mended, its tests themselves unchanged. Used by ``bench/ogctests.sh`` with ``-p ogctests_links``.

- Its Link header parser (``features/filtering/utils.py``) splits the header on every comma (a link whose
  URL holds a bbox falls apart), files the ``<URI>`` under "iri" where its tests read "href", and keeps
  the quotes around values, so ``rel="…queryables"`` never equals the relation sought: replaced by an
  RFC 8288 parser. The service sends the header as RFC 8288 writes it.
- Its test ct2 stores each collection's queryables URI as a one-element list, which ct3 then sends to
  httpx as the URL and compares with the schema's ``$id``: the list is unwrapped once ct2 has run.
"""

from __future__ import annotations

import re

import pytest

_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*=\s*(?:"[^"]*"|[^;,"\s]*))*)')
_PARAM = re.compile(r';\s*([^;,=\s]+)\s*=\s*(?:"([^"]*)"|([^;,"\s]*))')


def parse_link_header(raw: str) -> list[dict]:
    """``Link`` header value → ``[{"href": …, "rel": …, "type": …}, …]`` (RFC 8288: quoted values unquoted)."""
    links = []
    for match in _LINK.finditer(raw or ""):
        link = {"href": match.group(1)}
        for name, quoted, bare in _PARAM.findall(match.group(2)):
            link[name.lower()] = quoted if quoted or not bare else bare
        links.append(link)
    return links


def pytest_configure(config):
    from ogctests.features.filtering import utils

    utils.parse_link_header = parse_link_header


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    if item.name == "test_ct2":
        for resource in item.funcargs.get("filterable_resources", []):
            uris = resource.get("queryables_uri")
            if isinstance(uris, list) and len(uris) == 1:
                resource["queryables_uri"] = uris[0]
