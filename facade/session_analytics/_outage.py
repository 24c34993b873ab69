"""One warning per outage, not one per failed attempt: for the background senders."""

from __future__ import annotations

import logging
import math
import threading
import time

# A failing API is warned about at most this often (as the batcher's drop warnings).
FAILURE_LOG_INTERVAL_S = 10.0


class FailureLog:
    """Logs a failing API once per outage, not once per attempt.

    The first failed request (a check, or a send that will be retried) is a warning; the
    attempts that follow are DEBUG lines, until a request succeeds: that is an INFO line with the
    count, and the next failure starts a new outage. An API that flaps gets at most one warning
    per FAILURE_LOG_INTERVAL_S.
    """

    def __init__(self, logger: logging.Logger, name: str) -> None:
        self._logger = logger
        self._name = name
        self._lock = threading.Lock()
        self._failures = 0  # failed attempts in a row
        self._since = 0.0
        self._warned = False  # this outage was warned about
        self._last_warning = -math.inf

    def failed(self, error: BaseException, what: str = "") -> None:
        """A failed attempt; ``what`` prefixes the error (``"the check did not succeed: "``)."""
        now = time.monotonic()
        with self._lock:
            self._failures += 1
            if self._failures == 1:
                self._since = now
            failures = self._failures
            warn = not self._warned and now - self._last_warning >= FAILURE_LOG_INTERVAL_S
            if warn:
                self._warned, self._last_warning = True, now
        if warn:
            self._logger.warning(
                "%s: %s%s (further failures are logged at DEBUG level until a request succeeds)",
                self._name,
                what,
                error,
            )
        else:
            self._logger.debug("%s: %s%s (%d failures in a row)", self._name, what, error, failures)

    def succeeded(self) -> None:
        if not self._failures:  # the usual case, without the lock
            return
        with self._lock:
            failures, warned = self._failures, self._warned
            self._failures, self._warned = 0, False
            lasted = time.monotonic() - self._since
        if warned and failures:
            self._logger.info(
                "%s: requests succeed again, after %d failed attempts over %.1f s",
                self._name,
                failures,
                lasted,
            )
