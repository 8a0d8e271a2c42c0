"""The threads of a gunicorn worker that answer its requests."""

from __future__ import annotations

import queue
import threading


class Threads:
    """The threads of a worker, each answering the connections it takes from one queue, and telling the event
    loop (``done``) what came of each: gunicorn's ``ThreadPoolExecutor``, without its futures, locks and done
    callbacks, which were about a fifth of the event loop's samples on a feature by id. ``submit`` and ``shutdown`` are
    what gunicorn's worker asks of its pool; what ``done`` gets is ``finish_request``'s (``Handled``)."""

    def __init__(self, count: int, handle, done) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._handle, self._done = handle, done
        self._threads = [threading.Thread(target=self._serve, name=f"geo-service-{n}", daemon=True)
                         for n in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, conn) -> None:
        self._queue.put(conn)

    def shutdown(self, wait: bool = False) -> None:
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def _serve(self) -> None:
        while (conn := self._queue.get()) is not None:
            try:
                handled = Handled(self._handle(conn))
            except BaseException as exc:  # noqa: BLE001 - as the executor's future: raised in the event loop
                handled = Handled(error=exc)
            self._done(conn, handled)


class Handled:
    """What came of a connection's turn in a thread, as gunicorn's ``finish_request`` reads its future."""

    __slots__ = ("_error", "_result")

    def __init__(self, result=False, error: BaseException | None = None) -> None:
        self._result, self._error = result, error

    def cancelled(self) -> bool:
        return False

    def result(self):
        if self._error is not None:
            raise self._error
        return self._result
