"""Timings and limits of the HTTP node and its client, in one place so tests can patch them."""

from __future__ import annotations

# -- request bodies ---------------------------------------------------------------------------
MAX_BODY_BYTES = 32 * 1024 * 1024  # whole request body (all takes together)
MAX_TAKES = 10  # audio parts in one register request
MAX_JSON_FIELD_CHARS = 256  # speaker ids, names and other short text fields
BODY_READ_TIMEOUT_S = 30.0  # a body that has not fully arrived by then is refused with 408
BODY_CHUNK_BYTES = 64 * 1024

# -- connections (slow-loris guards) ----------------------------------------------------------
HEADER_TIMEOUT_S = 10.0  # a request head that has not fully arrived by then closes the connection
KEEP_ALIVE_TIMEOUT_S = 5  # idle keep-alive connections close after this
MAX_HEADER_BYTES = 16 * 1024  # h11's limit on an incomplete request head
MAX_CONNECTIONS = 512  # beyond this uvicorn answers 503
MAX_CONNECTIONS_PER_CLIENT = 64  # connections one client address may hold at once; beyond this they are closed
GRACEFUL_SHUTDOWN_S = 5

# -- work -------------------------------------------------------------------------------------
WORKER_THREADS = 4  # decode, VAD, quality gate and scoring run here, off the event loop
BATCH_MAX = 16  # embeddings per model call
BATCH_WORKERS = 2  # batcher threads running model calls side by side (one per core with 1 torch thread)
BATCH_WAIT_S = 0.002  # how long the batcher waits for more work once it has some
QUEUE_LIMIT = 256  # requests waiting for the model beyond this get 503

# -- authentication and limits ----------------------------------------------------------------
API_KEY_HEADER = "X-API-Key"
KEY_CACHE_TTL_S = 2.0  # a checked key is trusted this long before the store is asked again
RATE_PER_KEY_PER_MIN = 120  # requests a minute per API key: the default of the setting rate_limit_per_minute
RATE_PER_KEY = RATE_PER_KEY_PER_MIN / 60.0  # the same per second (2/s): a node built without settings


def burst_for(per_minute: int) -> int:
    """Requests a key may send at once for a rate of ``per_minute``: a quarter of a minute's worth, at least 10."""
    return max(10, per_minute // 4)


BURST_PER_KEY = burst_for(RATE_PER_KEY_PER_MIN)  # 30
AUTH_FAILURES_PER_MIN = 30  # failed authentications per client address per minute before 429
LOCKOUT_FAILURES = 5  # rejected verifications of one speaker ...
LOCKOUT_WINDOW_S = 300.0  # ... within this window, from one client, lock that (speaker, client) pair ...
LOCKOUT_S = 60.0  # ... for this long; each further lock of the pair doubles it ...
LOCKOUT_MAX_S = 3600.0  # ... up to this

# -- metrics and stats ------------------------------------------------------------------------
LATENCY_WINDOW = 2048  # recent request latencies kept per route for percentiles

# -- TLS --------------------------------------------------------------------------------------
CERT_DAYS = 3650
CERT_FILE = "node-cert.pem"
KEY_FILE = "node-key.pem"

# -- client -----------------------------------------------------------------------------------
CLIENT_TIMEOUT_S = 30.0
CLIENT_RETRIES = 3
CLIENT_BACKOFF_S = 0.2  # first retry delay; doubles each time, with jitter
CLIENT_BACKOFF_MAX_S = 5.0
CLIENT_MAX_WAIT_S = 30.0  # longest a client call waits between its attempts in all (Retry-After included)

# -- cluster ----------------------------------------------------------------------------------
SERVICE_TYPE = "_vomid._tcp.local."
HEALTH_INTERVAL_S = 2.0  # each peer is pinged this often
HEALTH_TIMEOUT_S = 2.0
DOWN_AFTER_FAILURES = 1  # failed pings before a peer is marked down (it comes back on the next answer)
PUSH_INTERVAL_S = 0.1  # new local writes are pushed to the peers within this
ANTI_ENTROPY_INTERVAL_S = 5.0  # digests are compared with every peer this often
REPLICATION_PAGE = 2000  # records per fetch request (each applied page rebuilds the receiver's index once)
CLOCKS_PAGE = 5000  # (kind, key, HLC) entries per listing a puller compares with its own rows
# (pages must hold more records than one write stamps with one HLC: a speaker and its voiceprints)
PUSH_PAGE = 1000  # records per push request (a request body stays well under MAX_BODY_BYTES)
FULL_PULL_AFTER_ROUNDS = 3  # anti-entropy rounds that differ without progress before a full pull from a peer
OFFLOAD_TIMEOUT_S = 10.0
OFFLOAD_ATTEMPTS = 3  # peers tried before the request fails with 503
BREAKER_FAILURES = 3  # consecutive failures that open a peer's circuit ...
BREAKER_OPEN_S = 10.0  # ... for this long, then one trial request is let through
JOIN_TOKEN_TTL_S = 3600.0  # a join token admits one node within this (default 1 h)

# Meeting labeling over the REST API (POST /api/v1/meetings/label).
MAX_MEETING_S = 1800.0  # longest meeting one request may label (30 min; longer ones: `vomid label` on the file)
MEETING_CONCURRENCY = 1  # meetings labeled at once per node; more get 503, so verifies keep their workers
