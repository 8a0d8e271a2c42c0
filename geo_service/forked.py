"""Part of one large job done by a forked child on the machine's other core, for a command's import.

The import of a large layer (``io.geojson_stream``, ``io.geojson_writer``) hands the second part of its
features to a child: the child sees the caller's memory as it was at the fork (the document, the frame:
nothing is copied or pickled to it) and sends only its part of the result back, through a pipe. The child
is a shortcut, never the only way: when it fails, or its part does not fit, the caller does that part
itself, so the outcome and every error message are the sequential ones.

Only in a process with a single thread and two usable cores (``available``): a server's workers share
their cores with the other requests, and a thread holding a lock at the fork would leave it held in the
child. multiprocessing's ``fork`` context starts the child and carries the result (pickled); a pool would
keep workers that do not share the memory of the moment.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Beside", "available"]

started = 0  # children started by this process (the tests see that the shortcut was taken)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _free_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where there is none)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available(memory: int = 0) -> bool:
    """Whether a child needing about ``memory`` bytes of its own may take part of a job here (see the
    module): a child the machine has no memory for would slow the import down, or be stopped by the kernel."""
    if not (hasattr(os, "fork") and threading.active_count() == 1 and cores() >= 2):
        return False
    free = _free_memory()
    return free is None or free >= 2 * memory  # room for the child and what the parent still allocates


def _run(send, function: Callable, args: tuple) -> None:
    try:
        found = (function(*args),)
    except BaseException:  # noqa: BLE001 (any failure: the caller does the part itself and says what is wrong)
        found = None
    try:
        send.send(found)
    except (OSError, ValueError):  # the caller went on without it
        pass
    finally:
        send.close()


class Beside:
    """``function(*args)`` running in a forked child; ``result()`` is ``(value,)``, or None if it failed."""

    def __init__(self, function: Callable, *args: Any) -> None:
        global started
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(send, function, args), daemon=True)
        self._process.start()
        send.close()
        started += 1

    def result(self) -> tuple | None:
        try:
            return self._receive.recv()
        except (EOFError, OSError):  # the child died (killed for memory, say)
            return None
        finally:
            self._receive.close()
            self._process.join()

    def cancel(self) -> None:
        self._process.kill()
        self._process.join()
        self._receive.close()
