"""prepared_rows, the libpq-level path of a feature by id, against a real PostgreSQL: rows, NULLs and text as a
psycopg cursor gives them, psycopg's errors, and statements the server forgot."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from geo_service.store.postgis import connections as postgis_connections
from geo_service.store.postgis.connections import prepared_rows


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("CREATE TABLE places (id text PRIMARY KEY, name text, population integer)")
        conn.execute("INSERT INTO places VALUES ('kayes', 'Kayes', 194716), ('kédougou', 'Kédougou', NULL)")
        yield conn


def test_rows_come_back_as_text_with_nulls_as_none(conn):
    query = "SELECT name, population FROM places WHERE id = $1"
    assert prepared_rows(conn, query, ["kayes"]) == [("Kayes", "194716")]
    assert prepared_rows(conn, query, ["kédougou"]) == [("Kédougou", None)]
    assert prepared_rows(conn, query, ["nioro"]) == []
    assert _ours(conn) == 1  # prepared once, run three times


def test_errors_are_psycopg_s_and_leave_the_connection_usable(conn):
    with pytest.raises(psycopg.errors.UndefinedTable):
        prepared_rows(conn, "SELECT id FROM nowhere WHERE id = $1", ["x"])
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        prepared_rows(conn, "SELECT id FROM places WHERE population = $1", ["many"])
    assert prepared_rows(conn, "SELECT id FROM places WHERE population = $1", ["194716"]) == [("kayes",)]
    assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}  # psycopg's own use of it goes on


def test_statements_the_server_forgot_are_prepared_again_under_names_never_used(conn):
    """psycopg deallocates every statement of the session after a DROP, an ALTER or a rollback it runs: a
    statement forgot between two others is prepared again, and no name the server still holds is reused."""
    query = "SELECT name, {} FROM places WHERE id = $1"
    assert prepared_rows(conn, query.format(0), ["kayes"]) == [("Kayes", "0")]
    conn.execute("DEALLOCATE ALL")
    assert prepared_rows(conn, query.format(1), ["kayes"]) == [("Kayes", "1")]  # prepared after it
    for i in (0, 2, 1):
        assert prepared_rows(conn, query.format(i), ["kayes"]) == [("Kayes", str(i))]
    assert _ours(conn) == 3


def test_a_connection_keeps_a_bounded_number_of_statements_and_psycopg_keeps_its_own(conn, monkeypatch):
    monkeypatch.setattr(postgis_connections, "_MAX_PREPARED", 3)
    psycopg_s = "SELECT population FROM places WHERE id = %s"
    conn.execute(psycopg_s, ["kayes"], prepare=True)
    for i in range(7):
        assert prepared_rows(conn, f"SELECT name, {i} FROM places WHERE id = $1", ["kayes"]) == [("Kayes", str(i))]
        assert _ours(conn) <= 3
    assert conn.execute(psycopg_s, ["kayes"], prepare=True).fetchone() == {"population": 194716}


def _ours(conn) -> int:
    """The statements prepared_rows has prepared on the connection (psycopg prepares its own too)."""
    return conn.execute("SELECT count(*) AS n FROM pg_prepared_statements WHERE name LIKE 'geo\\_service\\_%'",
                        prepare=False).fetchone()["n"]
