"""The defaults of every client setting (FullStory's and Smartlook's: environment variables, hosts,
timeouts, retries, queue concurrency), of the retry policy and of the connection pool, and the
header names the SDK sends; each with its unit in its name. The API packages read them from here
(``fullstory/_config.py`` and ``smartlook/_settings.py`` resolve the settings); the defaults of
the option classes (``BatchingOptions``, ``BatchJobOptions``) are on their fields."""

from __future__ import annotations

FULLSTORY_BASE_URL = "https://api.fullstory.com"
FULLSTORY_API_KEY_ENV = "FULLSTORY_API_KEY"
FULLSTORY_BASE_URL_ENV = "FULLSTORY_BASE_URL"

SMARTLOOK_HOST = "manager.smartlook.com"
SMARTLOOK_KEY_ENV = "SMARTLOOK_KEY"
SMARTLOOK_HOST_ENV = "SMARTLOOK_HOST"
SMARTLOOK_FLUSH_INTERVAL_ENV = "SMARTLOOK_FLUSH_INTERVAL_MILLIS"
SMARTLOOK_LOG_LEVEL_ENV = "SMARTLOOK_LOG_LEVEL"
SMARTLOOK_FLUSH_INTERVAL_MS = 10_000
SMARTLOOK_TIMEOUT_S = 10.0
SMARTLOOK_CHECK_TIMEOUT_S = 5.0  # the longest init() waits for the check handshake
# Retries of the check that init() does (sends, and the checks before them, take none: the
# batcher retries the batch).
SMARTLOOK_CHECK_MAX_RETRIES = 2

# How long import_() and `session-analytics import` wait out 429s on job creates, in a row.
DEFAULT_MAX_RATE_LIMITED_WAIT_S = 600.0

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 3
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
# A server that asks us to wait longer than this is not retried: the caller gets the error with
# its retry_after and decides.
MAX_RETRY_AFTER_S = 60.0

# The general client's pool (every call but track()): as many kept alive as may be open, so
# a burst of concurrent calls (Smartlook batches, import_() polls) never closes a connection
# it will want again.
MAX_CONNECTIONS = 20
MAX_KEEPALIVE_CONNECTIONS = MAX_CONNECTIONS

# The API takes at most this many items in one batch import job.
MAX_BATCH_ITEMS = 50_000
DEFAULT_POLL_INTERVAL_S = 2.0
DEFAULT_JOB_MAX_RETRY = 3
MAX_POLL_DELAY_S = 60.0
DEFAULT_IMPORT_JOBS_IN_FLIGHT = 4

RETRY_COUNT_HEADER = "Session-Analytics-Retry-Count"
IDEMPOTENCY_HEADER = "Idempotency-Key"
INTEGRATION_SOURCE_HEADER = "Integration-Source"

# Requests in flight for the event batchers: adaptive between these (see _batching/concurrency.py).
# track() sends one event per request: its ceiling keeps 1,000 events/s at 150 ms in reach.
TRACK_MIN_CONCURRENCY = 4
TRACK_MAX_CONCURRENCY = 160
SMARTLOOK_MIN_CONCURRENCY = 1
SMARTLOOK_MAX_CONCURRENCY = 8
