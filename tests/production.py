"""The production server (``geo-service serve --production``: gunicorn) in a subprocess, for tests that need it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_LIMIT_S = 180  # a generous bound, so a broken start fails instead of hanging the suite


@dataclass
class Server:
    process: subprocess.Popen
    output_path: Path
    url: str = ""

    def output(self) -> str:
        """What the server has written so far (its log, the access log among it)."""
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def peak_rss_mb(self) -> dict[int, float]:
        """Each worker's peak resident memory (VmHWM), in MB."""
        peaks = {}
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            peaks[pid] = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
        return peaks

    def shared_mb(self) -> dict[int, tuple[float, float]]:
        """Each worker's proportional memory now (Pss: pages shared with other processes, such as a mapped
        file in the page cache, counted once across them) and the part of it mapped from files, in MB."""
        found = {}
        for pid in self.worker_pids():
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            pss, pss_file = (int(re.search(rf"^{name}:\s+(\d+) kB", rollup, re.M).group(1)) / 1024
                             for name in ("Pss", "Pss_File"))
            found[pid] = (pss, pss_file)
        return found

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes, float]:
        """Status, body and seconds taken for one GET."""
        started = time.monotonic()
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read(), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read(), time.monotonic() - started


@contextmanager
def production_server(layers_dir: Path, workers: int = 2, health_timeout: float = 30, **env: str):
    """Start gunicorn on a free port; yield the Server once /api/health has answered (each answer within
    ``health_timeout`` seconds: a large layer is loaded by the first); stop it after."""
    environment = {**os.environ, "GEO_SERVICE_LAYERS_DIR": str(layers_dir), **env}
    command = [str(Path(sys.executable).with_name("geo-service")), "serve", "--production", "--host", "127.0.0.1",
               "--port", "0", "--workers", str(workers)]
    # The output goes to a file, not a pipe this process reads: a thread reading every access-log line would
    # take the GIL from a benchmark's client threads (bench/scale.py), which another server's figures do not pay.
    with tempfile.NamedTemporaryFile(prefix="geo-service-server-", suffix=".log", delete=False) as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
    server = Server(process, Path(output.name))
    try:
        started = time.monotonic()
        while not server.url:
            assert process.poll() is None, server.output()[-3000:]
            assert time.monotonic() - started < START_LIMIT_S, server.output()[-3000:]
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", server.output())
            server.url = found.group(1) if found else ""
            time.sleep(0.1)
        while len(server.worker_pids()) < workers or server.get("/api/health", health_timeout)[0] not in (200, 503):
            assert time.monotonic() - started < START_LIMIT_S, server.output()[-3000:]
            time.sleep(0.2)
        for _ in range(workers * 4):  # every worker has built its app before a test measures anything
            server.get("/api/health", health_timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server.output_path.unlink(missing_ok=True)
