"""A one-line progress report on stderr for long iterative fits."""
from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress report on stderr, shown only once a fit has run for a second."""

    def __init__(self, enabled: bool | None, total: int):
        if enabled is None:
            enabled = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.enabled, self.total = enabled, total
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, iteration: int, loss: float):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < 1.0 or now - self.last < 0.1:
            return
        self.last, self.shown = now, True
        width = 30
        filled = int(width * min(iteration / self.total, 1.0))
        sys.stderr.write(f"\rfitting [{'#' * filled}{'.' * (width - filled)}] iteration {iteration}, "
                         f"loss {loss:.10g}   ")
        sys.stderr.flush()

    def close(self):
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
