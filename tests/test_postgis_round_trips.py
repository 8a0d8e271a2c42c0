"""How many times a request waits for PostGIS: counted in libpq's own trace of the connection (each Sync or
simple Query the client sends is one round trip), on a real server, through the app."""

from __future__ import annotations

import tempfile

import pytest
from psycopg import pq

from geo_service.app import create_app
from geo_service.store import postgis
from geo_service.web.context import STORE_KEY
from tests.conftest import postgis_store, write_layers


@pytest.fixture
def traced(database_url, tmp_path, monkeypatch):
    """A client of an app on PostGIS with one connection, and a function that counts the round trips one
    request takes on it (the catalogue's once-a-second check kept out of the count)."""
    monkeypatch.setattr(postgis, "_CATALOGUE_CHECK_S", 3600.0)
    postgis_store(database_url, write_layers(tmp_path / "layers")).close()
    app = create_app({"layers_dir": tmp_path / "layers", "database_url": database_url, "database_pool": 1})
    client = app.test_client()
    store = app.extensions[STORE_KEY]

    def round_trips(path: str) -> int:
        with tempfile.TemporaryFile("w+") as trace:
            with store.connection() as conn:  # the pool's one connection: every statement of the request
                conn.pgconn.trace(trace.fileno())
                conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                response = client.get(path)
            finally:
                with store.connection() as conn:
                    conn.pgconn.untrace()
            assert response.status_code == 200, response.get_data(as_text=True)
            trace.seek(0)
            sent = [line.split("\t") for line in trace.read().splitlines() if line.startswith("F\t")]
        return sum(1 for message in sent if message[2].split()[0] in ("Sync", "Query"))

    yield round_trips
    store.close()


def test_an_items_page_takes_one_statement(traced):
    """With the layer's row this process read last, a new page is one statement (its matches, their texts and
    the version they are of), and a page in the response cache the layer's version read. A feature by id:
    one statement."""
    pages = ["bbox=-12.3,14.4,-12.1,14.5&limit={}", "country=ML&limit={}", "limit=1&offset={}",
             "filter=population%20%3E%20{}&sortby=-name"]
    for i in range(8):  # statements prepared (psycopg prepares a statement on its fifth run: one trip more)
        for page in pages:
            traced(f"/ogc/collections/sites/items?{page.format(20 - i)}")
        traced("/ogc/collections/sites/items/kayes")
    for i, page in enumerate(pages):  # new pages: not in the response cache
        assert traced(f"/ogc/collections/sites/items?{page.format(30 + i)}") == 1, page
    assert traced("/ogc/collections/sites/items/kayes") == 1
    assert traced(f"/ogc/collections/sites/items?{pages[0].format(30)}") == 1  # cached: the version only
