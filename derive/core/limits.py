"""Size and time limits on work done for user input.

Input reaches `derive` from command lines, files and web forms, so nothing it asks for may take
unbounded time or memory: the input grammar (`derive.parse`) checks the sizes below before it builds
anything, and runs under `time_limit`. The numbers are generous for mathematics people actually write
(a long derivation line is a few hundred characters) and small enough that hostile input fails in
milliseconds.
"""
from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from typing import Iterator

from derive.errors import LimitExceeded

MAX_INPUT_CHARS = 2_000       # characters in one expression or equation
MAX_NESTING = 100             # brackets (and unary signs, powers) nested inside each other
MAX_NUMBER_DIGITS = 30        # digits in one numeric literal
MAX_DECIMAL_EXPONENT = 30     # |k| in a literal such as 1e-k
MAX_EXPONENT = 1_000          # |k| in a power x^k with a numeric exponent
MAX_RESULT_DIGITS = 10_000    # digits of a number computed from literals (such as 2^{1000})
PARSE_SECONDS = 3.0           # wall-clock time for parsing one input
RETRY_SECONDS = 0.05          # a time limit whose exception was swallowed fires again this much later


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise `LimitExceeded` if the body runs longer than `seconds` (wall clock).

    The limit uses `SIGALRM` via `signal.setitimer(ITIMER_REAL)`, so it only works in the main
    thread of the main interpreter on a POSIX system; elsewhere (a worker thread of a web server,
    Windows) the body runs without a time limit, and the size limits above are the protection.
    A timer already running (an enclosing `time_limit`) is restored afterwards with the time it
    has left, so limits nest.

    >>> with time_limit(1.0, "parsing"):
    ...     pass
    """
    def on_timeout(signum, frame):
        # The exception is raised wherever the body happens to be, and some places swallow it: a weakref
        # callback or __del__ (Python only prints "Exception ignored"), a library's broad `except`. Re-arm,
        # so the body is interrupted again shortly after, until the exception reaches the `finally` below.
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
        raise LimitExceeded(f"{what} took longer than {seconds:g} s")

    try:
        previous_handler = signal.signal(signal.SIGALRM, on_timeout)
    except (AttributeError, ValueError):  # no SIGALRM, or not the main thread of the main interpreter
        yield
        return
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            # An enclosing timer keeps counting while this one runs; if it is already due,
            # let it fire at once rather than never.
            remaining = max(previous_delay - (time.monotonic() - started), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)
