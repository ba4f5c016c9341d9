"""Sending through an external queue engine (WORKER_QUEUE=rq; docs/webhooks.md).

The database stays the source of truth; RQ only carries work to other processes.
`run_worker` claims due deliveries exactly as the embedded worker does
(`deliveries.claim_due`, the same lease) and enqueues one job per claimed batch, naming
each delivery's claim as (id, attempts). The job, run by `manage.py rqworker`, sends what
those claims still hold through the one sending path (`deliveries.send`, which records
every attempt). A job Redis loses, or whose worker dies, leaves its claims to lapse when
their lease ends; the deliveries are then claimed and enqueued again, and the old job, if
it ever runs, finds its claims taken and sends nothing. At least once, never lost.
"""

from django.db import close_old_connections, connection

from webhooks.deliveries import claim_due, lease, release, send, still_claimed
from webhooks.transport import Transport

# Jobs waiting in the queue beyond which nothing more is claimed: a claim's lease runs while
# its job waits, so claiming far ahead of the RQ workers would only let leases lapse unsent.
MAX_WAITING_JOBS = 10


def send_claimed(claims: list[tuple[int, int]]) -> int:
    """The job: send the deliveries these (id, attempts) claims still hold and record each
    attempt. Returns how many were attempted."""
    if not connection.in_atomic_block:  # never the connection a caller's transaction is using
        close_old_connections()  # a worker that runs jobs in one process may hold a dead one
    deliveries = still_claimed(claims)
    if not deliveries:
        return 0
    transport = Transport()
    try:
        return send(deliveries, transport)
    finally:
        transport.close()


def enqueue_due(queue) -> int:
    """One round of the enqueue step: claim what is due and put it on `queue` (RQ's) as one
    job. Returns how many deliveries were handed over."""
    if queue.count >= MAX_WAITING_JOBS:
        return 0
    claimed = claim_due()
    if not claimed:
        return 0
    seconds = int(lease().total_seconds())
    try:
        queue.enqueue(
            send_claimed,
            [(delivery.pk, delivery.attempts) for delivery in claimed],
            # RQ's default (180 s) would stop a batch to slow consumers mid-way; the lease is
            # the time its attempts may take.
            job_timeout=seconds,
            description=f"send {len(claimed)} webhook deliveries",
        )
    except Exception:
        release(claimed)  # due again at once, not after the lease
        raise
    return len(claimed)
