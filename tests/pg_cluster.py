"""A throwaway PostgreSQL/PostGIS cluster for the test session: Debian's own binaries, a temporary folder,
run as an unprivileged user, listening on a free loopback port, removed at the end.

Each test that wants a database gets a new one copied from a template that has PostGIS already, so tests
never see each other's tables.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

SUPERUSER = "geo_test"


def _bin_dir() -> Path:
    """The newest installed server's binaries (Debian keeps them out of PATH, in /usr/lib/postgresql/<n>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        on_path = shutil.which("initdb")
        if on_path:
            return Path(on_path).parent
        raise RuntimeError("PostgreSQL's server is not installed: run `make test` (it installs the Debian packages "
                           "postgresql and postgresql-<n>-postgis-3)")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """initdb + pg_ctl in a temporary folder. As root, the server runs as the ``postgres`` system user (or
    ``nobody``): PostgreSQL refuses to run as root, and a test cluster needs no privilege anyway."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="geo-service-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = next((name for name in ("postgres", "nobody") if _user_exists(name)), None)
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def start(self) -> Cluster:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            # French collation by ICU, as a server in Bamako or Dakar may well have: text order and case
            # folding are tested against a locale other than C, whatever the cluster's own is
            conn.execute("CREATE DATABASE template_geo TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'fr' "
                         "LOCALE 'C' ENCODING 'UTF8'")
        with psycopg.connect(self.url("template_geo"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh database with PostGIS; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template_geo STRATEGY file_copy")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
