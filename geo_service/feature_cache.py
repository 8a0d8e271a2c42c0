"""A bounded cache of responses: a repeated request (same layer version, same query) is answered from memory."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable



def response_tag(version: str, *parts: object) -> str:
    """An ETag for one layer version and request: the same in every worker process (unlike ``hash()``),
    and made of header-safe characters only."""
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:12]
    return f"{version}-{digest}"


class ResponseCache:
    """Thread-safe LRU of serialised responses, bounded in entries and bytes."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 64 * 2**20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._responses: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def response(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """The cached bytes for ``key`` (which must include the layer version), built once."""
        with self._lock:
            body = self._responses.get(key)
            if body is not None:
                self._responses.move_to_end(key)
                return body
        body = build()
        if len(body) <= self.max_bytes // 4:
            with self._lock:
                if key not in self._responses:
                    self._responses[key] = body
                    self._bytes += len(body)
                while len(self._responses) > self.max_entries or self._bytes > self.max_bytes:
                    _, dropped = self._responses.popitem(last=False)
                    self._bytes -= len(dropped)
        return body
