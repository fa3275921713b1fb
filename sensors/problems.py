"""A feed link's problems as ``GET /api/health`` reports them: how many, and the latest ones.

The MQTT ingest, the MQTT publisher and the BACnet panel feed each keep one:
refused or lost connections, unanswered reads, rejected messages. Each
problem is logged when it happens; the latest :data:`KEEP` are kept (oldest
first) and the health document shows the count and the last five.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

KEEP = 100
"""Problems kept per link (the latest)."""
SHOWN = 5
"""Problems shown in the health document (the latest)."""


class Problems:
    """The problems of one link: ``latest`` (at most :data:`KEEP`, oldest first) and ``count`` (all so far).

    Safe to add to from several threads (a client's network thread, the
    ingest threads, a feed's own loop).

    Parameters
    ----------
    log : logging.Logger
        Where each problem is logged as it happens.
    prefix : str
        What the log line starts with (the link, e.g. ``"bacnet"``).
    level : int
        The log level of a problem.
    """

    def __init__(self, log: logging.Logger, prefix: str, level: int = logging.ERROR) -> None:
        self.latest: list[str] = []
        self.count = 0
        self._log, self._prefix, self._level = log, prefix, level
        self._lock = threading.Lock()

    def add(self, text: str) -> None:
        """Log a problem and keep it."""
        self._log.log(self._level, "%s: %s", self._prefix, text)
        with self._lock:
            self.count += 1
            self.latest.append(text)
            del self.latest[:-KEEP]

    def status(self) -> dict[str, Any]:
        """``error_count`` and the latest :data:`SHOWN` ``errors``, for a link's health document."""
        with self._lock:
            return {"error_count": self.count, "errors": self.latest[-SHOWN:]}
