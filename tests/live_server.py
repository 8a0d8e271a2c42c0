"""The service in its own process, with its access log, for clients that block in C (GDAL holds the GIL)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote


@contextmanager
def live_server(settings: dict, folder: Path):
    """Yields ``(url, requests)``: the server's root, and a function returning the request lines logged so far
    (decoded), e.g. ``GET /ogc/collections/x/items?filter=… HTTP/1.1``."""
    port_file, log = folder / "port", folder / "access.log"
    code = (
        "import json, sys; from werkzeug.serving import make_server; from geo_service.app import create_app; "
        f"s = make_server('127.0.0.1', 0, create_app(json.loads(sys.argv[1])), threaded=True); "
        f"open(r'{port_file}', 'w').write(str(s.server_port)); s.serve_forever()"
    )
    with open(log, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-c", code, json.dumps(settings, default=str)], stderr=stderr)
    try:
        while not (port_file.exists() and port_file.read_text()):  # however long a busy machine takes
            assert process.poll() is None, "the server process ended before it listened"
            time.sleep(0.1)

        def requests() -> list[str]:
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            return [unquote(line.split('"')[1]) for line in lines if line.count('"') >= 2 and '"GET ' in line]

        yield f"http://127.0.0.1:{port_file.read_text()}", requests
    finally:
        process.terminate()
        process.wait(10)
