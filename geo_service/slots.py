"""Host-wide slots for expensive requests (analyses, uploads), held as non-blocking file locks.

Every worker process and thread of a host sees the same slots, and a slot is
freed by the kernel when its holder dies, so a killed worker leaks nothing.
A request that finds no free slot waits for one a few seconds (a burst from an
office behind one address is served in turn), then is answered 503 with
Retry-After, instead of queueing behind greedy clients while normal requests
starve.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from geo_service.errors import ServiceBusyError, StorageError
from geo_service.i18n import Text


class SlotLimiter:
    """``total`` slots on the host, of which one client (an address) may hold ``per_client``."""

    def __init__(self, directory: Path, total: int, per_client: int, wait_s: float = 5.0) -> None:
        self.directory = Path(directory)
        self.total = total
        self.per_client = per_client
        self.wait_s = wait_s

    def _take_one(self, stack: ExitStack, prefix: str, count: int, deadline: float) -> bool:
        while True:
            if self._try_one(stack, prefix, count):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _try_one(self, stack: ExitStack, prefix: str, count: int) -> bool:
        for number in range(count):
            try:
                handle = open(self.directory / f"{prefix}-{number}.lock", "a+")
            except OSError as exc:
                raise StorageError(Text("error", "the service cannot keep its request slots ({reason})",
                                        {"reason": exc.strerror})) from None
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            stack.callback(handle.close)  # closing the file releases the lock
            return True
        return False

    @contextmanager
    def slot(self, client: str | None) -> Iterator[None]:
        """Hold one slot (and one of the client's, when ``client`` is given) for the ``with`` block."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(Text("error", "the service cannot keep its request slots ({reason})",
                                    {"reason": exc.strerror})) from None
        deadline = time.monotonic() + self.wait_s
        with ExitStack() as stack:
            if client is not None:
                key = hashlib.sha256(client.encode("utf-8")).hexdigest()[:16]
                if not self._take_one(stack, f"client-{key}", self.per_client, deadline):
                    raise ServiceBusyError(Text("error", "you already have {count} analysis or upload running; "
                                                "wait for it to finish", {"count": self.per_client}),
                                           retry_after_s=5)
            if not self._take_one(stack, "slot", self.total, deadline):
                raise ServiceBusyError(Text("error", "the server is running {count} analyses or uploads already; "
                                            "try again in a few seconds", {"count": self.total}), retry_after_s=10)
            yield


class Deadline:
    """A time budget for one request's work, checked between its stages."""

    def __init__(self, seconds: float, clock=time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def check(self, stage: object = "") -> None:
        if self._clock() > self._end:
            raise ServiceBusyError(
                Text("error", "the request ran past its time budget of {seconds} s ({stage}) and was stopped; send "
                     "smaller files or fewer communities", {"seconds": f"{self.seconds:g}", "stage": stage or "—"}),
                retry_after_s=30, details={"time_budget_s": self.seconds})
