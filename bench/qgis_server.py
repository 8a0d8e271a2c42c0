"""QGIS Server beside our server in bench/scale.py: Debian's qgis-server 3.22 (``qgis_mapserver``, its own
HTTP server) publishing a GeoPackage of the same layer through its OGC API – Features (/wfs3).

QGIS Server needs a project file: PyQGIS (Debian's python3-qgis, a dependency of qgis-server) writes one with
the layer published for WFS. ``qgis_mapserver`` is one process; "2 workers" are two of them on two ports,
the requests shared between them in turn, as a load balancer would. Install with ``apt-get install
qgis-server`` (the bench prints a dash for QGIS Server when it is not installed).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from itertools import cycle
from pathlib import Path
from threading import Lock

PROJECT_SCRIPT = """
import sys
from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(sys.argv[1] + "|layername=big", "big", "ogr")
assert layer.isValid(), "the GeoPackage cannot be read"
project = QgsProject.instance()
project.addMapLayer(layer)
project.writeEntry("WFSLayers", "/", [layer.id()])
project.writeEntry("WFSLayersPrecision", "/" + layer.id(), 7)
assert project.write(sys.argv[2]), "the project was not written"
app.exitQgis()
"""


def available() -> bool:
    return shutil.which("qgis_mapserver") is not None and Path("/usr/bin/python3").is_file()


def write_project(gpkg: Path, project: Path) -> None:
    # TMPDIR: Qt's temporary folder (qt_temp-*) goes with the bench's own folder; it was left in /tmp
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(project.parent),
           "TMPDIR": str(project.parent)}
    subprocess.run(["/usr/bin/python3", "-c", PROJECT_SCRIPT, str(gpkg), str(project)], env=env, check=True,
                   capture_output=True, timeout=600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QgisServers:
    """Two qgis_mapserver processes; ``get`` sends each request to the next one."""

    def __init__(self, processes: list[subprocess.Popen], urls: list[str]) -> None:
        self.processes, self.urls = processes, urls
        self._next, self._lock = cycle(range(len(urls))), Lock()

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes, float]:
        with self._lock:
            url = self.urls[next(self._next)]
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url + path, timeout=timeout) as response:
                return response.status, response.read(), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read(), time.monotonic() - started

    def peak_rss_mb(self) -> dict[int, float]:
        found = {}
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status").read_text()
            found[process.pid] = int(status.split("VmHWM:")[1].split()[0]) / 1024
        return found


@contextmanager
def qgis_servers(project: Path, workers: int = 2, first_path: str = "/wfs3/collections/big/items?limit=10"):
    """Start the servers; yield them with the seconds from start to the first items answer of each."""
    processes, urls, firsts = [], [], []
    try:
        for _ in range(workers):
            port = _free_port()
            # TMPDIR: its lock files and folders go with the bench's own folder, not into /tmp for good
            env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(project.parent),
                   "TMPDIR": str(project.parent), "QGIS_PROJECT_FILE": str(project), "QGIS_SERVER_LOG_LEVEL": "2"}
            started = time.monotonic()
            processes.append(subprocess.Popen(["qgis_mapserver", f"127.0.0.1:{port}"], env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}")
            while True:
                assert processes[-1].poll() is None, "qgis_mapserver stopped"
                try:
                    with urllib.request.urlopen(urls[-1] + first_path, timeout=600) as response:
                        response.read()
                    break
                except urllib.error.HTTPError as error:
                    raise AssertionError(f"qgis_mapserver answered {error.code}: {error.read()[:500]!r}") from None
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() - started < 600, "qgis_mapserver did not answer"
                    time.sleep(0.1)
            firsts.append(time.monotonic() - started)
        yield QgisServers(processes, urls), firsts
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":  # a quick look: python bench/qgis_server.py FILE.gpkg
    folder = Path(sys.argv[1]).resolve().parent
    write_project(Path(sys.argv[1]).resolve(), folder / "bench.qgs")
    with qgis_servers(folder / "bench.qgs") as (servers, firsts):
        print(firsts, servers.get("/wfs3/collections/big/items?limit=2")[1][:600])
