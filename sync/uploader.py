"""Draining the outbox: gather a batch (IO), decide what the server's reply means (pure), apply (IO).

Used by `kiosk sync` (one shot, with a progress bar) and by the scheduled upload job. A drain stops at the
first failure and records it; the data always stays in the outbox until the server has answered for it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.bootstrap import utc_now
from kiosk.domain.days import format_utc
from sync.client import CentralClient
from sync.outbox import Outbox
from sync.planner import (
    AuthProblem,
    Delivered,
    RetryLater,
    Shrink,
    backoff_delay,
    decide_upload,
    next_batch_size,
    restore_detected,
)
from sync.protocol import DEFAULT_BATCH, MAX_VISIT_FLAGS, answer_to_wire, upload_body

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class DrainResult:
    ok: bool
    synced: int
    quarantined: int
    pending: int
    reason: str | None = None
    auth_problem: bool = False
    retry_in: float | None = None
    restored: int = 0  # answers made pending again because central was restored from a backup


def drain(
    outbox: Outbox,
    client: CentralClient,
    store_id: str,
    device_id: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    now: Clock = utc_now,
    jitter: Callable[[], float] = random.random,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DrainResult:
    """Upload every pending answer, batch by batch; stop at the first failure (recorded in the outbox)."""
    announced = _int(outbox.state().get("max_batch"))
    size = min(batch_size, announced) if announced else batch_size
    synced = quarantined = restored = 0
    checked = False
    # Visit flags go with the batches until central has acknowledged them all; a central that does not
    # acknowledge them (an older one) is sent them once per drain, not in a loop.
    send_flags = True
    while should_stop is None or not should_stop():
        batch = outbox.pending_batch(size)
        flags = outbox.pending_flags(MAX_VISIT_FLAGS) if send_flags else []
        if not batch and not flags and (checked or outbox.central_held() is None):
            return DrainResult(True, synced, quarantined, 0, restored=restored)
        # Nothing pending: one upload all the same (with the unsent flags, or empty), whose reply says what
        # central holds of this device, so that a restored central is noticed (by `kiosk sync` too).
        checked = True
        ids = [row["id"] for row in batch]
        surveys = outbox.store.survey_definitions(row["survey_version"] for row in batch)
        payload = upload_body(
            store_id, device_id, format_utc(now()), [answer_to_wire(r) for r in batch], surveys, flags
        )
        reply = client.upload(payload)
        decision = decide_upload(ids, size, reply, now(), flags)
        if isinstance(decision, Delivered):
            known = outbox.central_held()
            if restore_detected(known, decision.device_answers):
                assert decision.device_answers is not None
                # Marked first, then everything still held is pending again: the resend follows at once.
                outbox.record_delivery(decision.synced, decision.quarantined, now())
                restored += outbox.resend_after_restore(decision.device_answers, now())
                checked = False
                continue
            outbox.record_delivery(
                decision.synced,
                decision.quarantined,
                now(),
                decision.device_answers,
                flags_sent=decision.flags_applied,
            )
            if len(decision.flags_applied) < len(flags):
                send_flags = False
            synced += len(decision.synced)
            quarantined += len(decision.quarantined)
            if decision.max_batch is not None and decision.max_batch != announced:
                announced = decision.max_batch
                outbox.set_state({"max_batch": str(announced)})
            size = next_batch_size(size, batch_size, announced)
            if progress is not None:
                progress(len(ids))
        elif isinstance(decision, Shrink):
            size = decision.batch_size
        elif isinstance(decision, AuthProblem):
            outbox.record_failure(decision.reason, now(), None, auth=True)
            return DrainResult(
                False, synced, quarantined, outbox.pending_count(), decision.reason, auth_problem=True
            )
        else:
            assert isinstance(decision, RetryLater)
            delay = backoff_delay(outbox.failures() + 1, jitter(), decision.retry_after)
            at = now()
            outbox.record_failure(decision.reason, at, at + dt.timedelta(seconds=delay))
            return DrainResult(
                False, synced, quarantined, outbox.pending_count(), decision.reason, retry_in=delay
            )
    return DrainResult(False, synced, quarantined, outbox.pending_count(), "stopped")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
