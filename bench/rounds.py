"""One kind of request on the files backend, PostGIS and QGIS Server, served at the same time and measured in
rounds taken in turn: what a shared machine's drift does to one backend's figure it does to the others'.

    .venv/bin/python bench/rounds.py [--size 1000000] [--shape points|polygons] [--kind by-id] [--rounds 5]
                                     [--requests 800] [--connections both|new|kept]

bench/scale.py measures each server alone, one after the other, over minutes; differences of a tenth of a
millisecond between backends (a feature by id) are then within the machine's drift. Here all three serve the
same synthetic layer (bench/scale.py's) with 2 workers each; each round sends ``--requests`` different
requests of one kind (4 client threads) to each server in turn; it prints every round's median and the
median of those medians, and the CPU time the server's processes used per request (the median over the
rounds; for PostGIS the database's processes are counted too). The clients share the two cores with the
servers, so latency moves with whatever else runs; CPU time per request moves much less, and it is what
decides how many requests a loaded host answers. QGIS Server (Debian's qgis-server) is left out when it is
not installed.

Clients either open a new connection for each request and ask the server to close it (``new``: one-shot
clients, curl in a script) or keep one connection per thread and server alive between requests (``kept``: QGIS,
GDAL and browsers do). qgis_mapserver answers HTTP/1.0 and closes every connection, so its clients reconnect
in both. The clients are http.client's, the lightest in the standard library: they share the two cores.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import qgis_server  # noqa: E402
from bench.scale import EAST, KINDS, NORTH, SOUTH, WEST, geopackage, heading, synthetic, timed  # noqa: E402
from geo_service.store import LayerStore  # noqa: E402
from tests.conftest import BUNDLED_LAYERS, catalogue_entry  # noqa: E402
from tests.pg_cluster import Cluster  # noqa: E402
from tests.production import production_server  # noqa: E402


def requests_of(kind: str, count: int, number: int, rng: random.Random, qgis: bool) -> list[str]:
    """``number`` different requests of one kind; QGIS Server's features are its GeoPackage rows, from 1."""
    base = "/wfs3/collections/big/items" if qgis else "/ogc/collections/big/items"
    if kind == "by-id":
        return [f"{base}/{n + 1}" if qgis else f"{base}/p{n}" for n in rng.sample(range(count), number)]
    if kind == "items":
        return [f"{base}?limit=100&offset={rng.randrange(count - 100)}" for _ in range(number)]
    paths = []
    for _ in range(number):
        lon, lat = rng.uniform(WEST, EAST - 0.1), rng.uniform(SOUTH, NORTH - 0.1)
        paths.append(f"{base}?bbox={lon:.4f},{lat:.4f},{lon + 0.1:.4f},{lat + 0.1:.4f}&limit=50")
    return paths


class Clients:
    """GETs to a server's addresses in turn, from each thread's own connection to each: kept alive between
    requests (``keep_alive``) unless the server closes it, or a new one per request that asks for its close."""

    def __init__(self, urls: list[str], keep_alive: bool) -> None:
        self.addresses = [url.removeprefix("http://").rsplit(":", 1) for url in urls]
        self.keep_alive = keep_alive
        self._turn, self._lock, self._local = 0, threading.Lock(), threading.local()

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes, float]:
        with self._lock:
            self._turn += 1
            host, port = self.addresses[self._turn % len(self.addresses)]
        connections = self._local.__dict__.setdefault("connections", {})
        kept = connections.pop((host, port), None)
        started = time.monotonic()
        try:
            connection = kept or http.client.HTTPConnection(host, int(port), timeout=timeout)
            connection.request("GET", path, headers={} if self.keep_alive else {"Connection": "close"})
            response = connection.getresponse()
        except (ConnectionError, http.client.RemoteDisconnected):
            if kept is None:
                raise
            # Closed by the server while idle (its keep-alive timeout, while the other servers had their
            # turn): a client reconnects, and the time counted is that of the new connection.
            kept.close()
            started = time.monotonic()
            connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
            connection.request("GET", path)
            response = connection.getresponse()
        body = response.read()
        if self.keep_alive and not response.will_close:
            connections[host, port] = connection
        else:
            connection.close()
        return response.status, body, time.monotonic() - started


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time these processes have used (user and system), with that of their children that have
    exited (a database backend that closed)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """A process and its children (a gunicorn master and its workers, a postmaster and its backends)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def measure(addresses: dict[str, list[str]], processes: dict[str, Callable[[], list[int]]], kind: str,
            size: int, rounds: int, requests: int, keep_alive: bool) -> dict[str, list[tuple[float, float]]]:
    """Each server's median latency in each round, and the CPU time its processes (with the database's, for
    PostGIS) used per request: the servers taken in turn within a round."""
    clients = {name: Clients(urls, keep_alive) for name, urls in addresses.items()}
    rng = random.Random(9)
    for name, client in clients.items():  # warm: each worker's first requests, the layer's pages
        timed(client, requests_of(kind, size, 200, rng, name == "QGIS Server"))
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, client in clients.items():
            paths = requests_of(kind, size, requests, rng, name == "QGIS Server")
            pids = processes[name]()
            before = cpu_seconds(pids)
            median = timed(client, paths)["median_ms"]
            figures[name].append((median, (cpu_seconds(pids) - before) * 1000 / len(paths)))
    return figures


@click.command()
@click.option("--size", default=1_000_000, show_default=True, help="Features in the layer.")
@click.option("--shape", type=click.Choice(sorted(KINDS)), default="points", show_default=True,
              help="The layer's features: points, or bench/scale.py's polygons of 500 positions.")
@click.option("--kind", type=click.Choice(["by-id", "items", "bbox"]), default="by-id", show_default=True)
@click.option("--rounds", default=5, show_default=True)
@click.option("--requests", default=800, show_default=True, help="Requests per server and round.")
@click.option("--connections", type=click.Choice(["both", "new", "kept"]), default="both", show_default=True,
              help="A new connection for each request, connections kept alive, or a run of each.")
def main(size: int, shape: str, kind: str, rounds: int, requests: int, connections: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="geo-rounds-"))
    cluster = Cluster().start()
    try:
        layers = work / "layers"
        shutil.copytree(BUNDLED_LAYERS, layers, ignore=shutil.ignore_patterns(".*"))
        LayerStore(layers).add_layer(catalogue_entry("big", KINDS[shape]), synthetic(size, shape=shape))
        url = cluster.new_database()
        from geo_service.store.postgis import PostGISStore
        from geo_service.store.transfer import load_folder

        store = PostGISStore(url, create=True, max_layer_mb=4096)
        load_folder(store, layers)
        store.close()
        with_qgis = qgis_server.available()
        if with_qgis:
            geopackage(layers, work)
            qgis_server.write_project(work / "big.gpkg", work / "bench.qgs")
        env = {"GEO_SERVICE_MAX_LAYER_MB": "4096"}
        with ExitStack() as stack:
            servers = {
                "files": stack.enter_context(production_server(layers, 2, 900, **env)),
                "PostGIS": stack.enter_context(production_server(layers, 2, 900, **env,
                                                                 GEO_SERVICE_DATABASE_URL=url)),
            }
            qgis = stack.enter_context(qgis_server.qgis_servers(work / "bench.qgs") if with_qgis
                                       else nullcontext((None, None)))[0]
            if qgis is not None:
                servers["QGIS Server"] = qgis
            addresses = {name: server.urls if name == "QGIS Server" else [server.url]
                         for name, server in servers.items()}
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
            processes = {
                "files": lambda: process_tree(servers["files"].process.pid),
                "PostGIS": lambda: process_tree(servers["PostGIS"].process.pid) + process_tree(postmaster),
                "QGIS Server": lambda: [process.pid for process in qgis.processes],
            }
            modes = ("new", "kept") if connections == "both" else (connections,)
            results = {mode: measure(addresses, processes, kind, size, rounds, requests, mode == "kept")
                       for mode in modes}
        for mode, figures in results.items():
            print(f"{kind}, {heading(size, shape)}, {rounds} rounds of {requests} requests (4 client threads), "
                  f"connections {'kept alive' if mode == 'kept' else 'new for each request'}: median ms of each "
                  f"round -> their median; the servers' CPU ms per request (PostGIS: with the database's)")
            for name, values in figures.items():
                medians, cpu = [m for m, _ in values], [c for _, c in values]
                print(f"  {name:12s} {' '.join(f'{v:.2f}' for v in medians)}  ->  {statistics.median(medians):.2f}"
                      f"   CPU {statistics.median(cpu):.2f}")
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
