"""The scheduled sync jobs inside `kiosk run`: upload, heartbeat, config pull, daily scores, retention.

An APScheduler 3.x BackgroundScheduler runs them in worker threads. Each job run opens its own SQLite
connection (a sqlite3 connection refuses use from another thread) and closes it; every HTTP call has a
timeout, so a hung server cannot pin a job with max_instances=1 forever. Jobs never touch the UI: results go
to callbacks, which the Kivy app must hand to its main thread (`@mainthread` / `Clock.schedule_once`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from apscheduler.schedulers.background import BackgroundScheduler

from kiosk.bootstrap import busy_timeout_ms, utc_now
from kiosk.domain.days import local_day
from kiosk.domain.scoring import daily_scores
from kiosk.domain.survey import KioskConfig
from kiosk.paths import KioskPaths
from kiosk.storage import ResponseStore
from sync.client import CentralClient
from sync.followup import FollowupLink, FollowupReplyError, read_followup_reply, save_followup_link
from sync.heartbeat import send_heartbeat
from sync.outbox import Outbox, SyncStatus, read_status
from sync.pairing import PairingError, load_pairing, pairing_path
from sync.planner import RETRY_AFTER_CAP_S, HttpReply
from sync.protocol import CONFIG_VERSION_HEADER, DEFAULT_BATCH
from sync.remote_config import (
    RemoteConfigError,
    check_remote_config,
    keep_pending,
    parse_version,
    record_refused,
    served_digest,
)
from sync.uploader import Clock, DrainResult, drain

log = logging.getLogger(__name__)

JOB_IDS = ("sync-upload", "sync-heartbeat", "sync-config", "sync-scores", "sync-retention", "sync-followup")


@dataclass(frozen=True, slots=True)
class SyncSettings:
    upload_every_s: float = 60
    heartbeat_every_s: float = 300
    config_every_s: float = 900
    scores_every_s: float = 180
    retention_every_s: float = 6 * 3600
    retention_days: int | None = None  # None: the configuration's ([storage] retention_days)
    batch_size: int = DEFAULT_BATCH
    timeout: tuple[float, float] = (5.0, 30.0)
    first_upload_after_s: float = 5


@dataclass
class SyncJobs:
    """The job bodies, callable directly (tests) or by the scheduler. Thread-safe by construction."""

    data_dir: Path
    config: KioskConfig
    settings: SyncSettings = field(default_factory=SyncSettings)
    on_scores: Callable[[dict[str, Any]], None] | None = None
    on_config: Callable[[KioskConfig], None] | None = None
    session_factory: Callable[[], requests.Session] = requests.Session
    clock: Clock = utc_now
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def paths(self) -> KioskPaths:
        return KioskPaths(self.data_dir)

    def use_config(self, config: KioskConfig) -> None:
        """The app applied a new configuration: later runs use it."""
        self.config = config

    @contextmanager
    def _outbox(self) -> Iterator[Outbox]:
        with ResponseStore(self.paths.database, self.config, busy_timeout_ms=busy_timeout_ms()) as store:
            yield Outbox(store)

    @contextmanager
    def _client(self) -> Iterator[CentralClient]:
        client = CentralClient(
            load_pairing(self.data_dir), session=self.session_factory(), timeout=self.settings.timeout
        )
        try:
            yield client
        finally:
            client.close()

    def upload(self) -> DrainResult | None:
        """Drain the backlog batch by batch, unless a backoff or an auth problem says to wait."""
        try:
            with self._outbox() as outbox:
                state = outbox.state()
                if state.get("auth_problem"):
                    return None  # shown on the manager screen; `kiosk pair` again clears it
                due = state.get("next_attempt_at")
                now = self.clock()
                # A date further away than any backoff was set while the clock was wrong: ignore it, or a
                # clock corrected by NTP would stop the uploads for as long as it had been ahead.
                if due and now < dt.datetime.fromisoformat(due) <= now + dt.timedelta(
                    seconds=RETRY_AFTER_CAP_S
                ):
                    return None
                try:
                    client_context = self._client()
                    client = client_context.__enter__()
                except PairingError as error:
                    if pairing_path(self.data_dir).exists():
                        # central.json is there but unusable: a problem for the manager, not a silent stop.
                        outbox.record_failure(str(error), now, None)
                    return None
                try:
                    return drain(
                        outbox,
                        client,
                        self.config.store.id,
                        self.config.device_id,
                        batch_size=self.settings.batch_size,
                        now=self.clock,
                        should_stop=self._stop.is_set,
                    )
                finally:
                    client_context.__exit__(None, None, None)
        except PairingError:
            return None

    def heartbeat(self) -> None:
        try:
            with self._outbox() as outbox, self._client() as client:
                send_heartbeat(outbox, client, self.data_dir, self.clock())
        except PairingError:
            return

    def pull_config(self) -> KioskConfig | None:
        """Fetch the store's configuration; a new valid one is kept aside and announced, a bad one refused."""
        try:
            with self._outbox() as outbox, self._client() as client:
                etag = outbox.state().get("config_etag")
                reply = client.get_config(etag)
                if not isinstance(reply, HttpReply) or reply.status != 200:
                    return None  # 304 unchanged, 404 none set, or unreachable: the current one stays
                new_etag = reply.headers.get("etag")
                # Which version this is and its digest, reported back by the heartbeat (the rollout).
                version = parse_version(reply.headers.get(CONFIG_VERSION_HEADER.lower()))
                digest = served_digest(reply.body)
                try:
                    config, text = check_remote_config(reply.body, self.config)
                except RemoteConfigError as error:
                    outbox.set_state({"config_error": str(error), "config_etag": new_etag})
                    record_refused(self.data_dir, version, digest, str(error), self.clock())
                    log.warning("%s", error)
                    return None
                keep_pending(self.data_dir, text, version, digest)
                outbox.set_state({"config_error": None, "config_etag": new_etag})
        except PairingError:
            return None
        if self.on_config is not None:
            self.on_config(config)
        return config

    def pull_followup(self) -> FollowupLink | None:
        """Fetch this device's follow-up key and public URL (kept in followup.json, mode 0600)."""
        try:
            pairing = load_pairing(self.data_dir)
            with self._client() as client:
                reply = client.get_followup()
            if not isinstance(reply, HttpReply) or reply.status != 200:
                return None  # an older head office (404) or unreachable: no QR code until it answers
            link = read_followup_reply(reply.body, pairing)
            save_followup_link(self.data_dir, link)
            return link
        except PairingError:
            return None  # not paired: nothing to fetch
        except FollowupReplyError as error:
            log.warning("%s", error)
            return None

    def refresh_scores(self) -> dict[str, Any]:
        """Yesterday and today, store-local. Yesterday is always recomputed, so the first run after local
        midnight gives its final figures (`final_through`), and today's figures are at most one interval old.
        """
        today = local_day(self.clock(), self.config.store.tz)
        yesterday = today - dt.timedelta(days=1)
        with ResponseStore(self.paths.database, self.config, busy_timeout_ms=busy_timeout_ms()) as store:
            report = daily_scores(
                self.config.store, self.config.survey, store.count_rows(yesterday, today), yesterday, today
            )
        report["final_through"] = yesterday.isoformat()
        if self.on_scores is not None:
            self.on_scores(report)
        return report

    def retention(self) -> int:
        """Delete the answers uploaded more than `retention_days` ago (kiosk.toml's [storage], unless the
        settings say otherwise); the number deleted."""
        days = self.settings.retention_days
        if days is None:
            days = self.config.retention_days
        before = self.clock() - dt.timedelta(days=days)
        with self._outbox() as outbox:
            return outbox.prune_synced(before)

    def status(self) -> SyncStatus:
        return read_status(self.paths.database)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class SyncService:
    scheduler: BackgroundScheduler
    jobs: SyncJobs

    def status(self) -> SyncStatus:
        return self.jobs.status()

    def shutdown(self, wait: bool = True) -> None:
        self.jobs.stop()  # a drain in progress stops after its current batch
        self.scheduler.shutdown(wait=wait)


def _guard(name: str, func: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            func()
        except Exception:
            # A job must not die silently nor take the scheduler down; the next run tries again.
            log.exception("sync job %s failed", name)

    return run


def start_scheduler(
    data_dir: Path,
    config: KioskConfig,
    *,
    settings: SyncSettings | None = None,
    on_scores: Callable[[dict[str, Any]], None] | None = None,
    on_config: Callable[[KioskConfig], None] | None = None,
    session_factory: Callable[[], requests.Session] = requests.Session,
    clock: Clock = utc_now,
) -> SyncService:
    """Start the sync jobs in a BackgroundScheduler (the app's composition root calls this once)."""
    settings = settings or SyncSettings()
    jobs = SyncJobs(
        data_dir,
        config,
        settings,
        on_scores=on_scores,
        on_config=on_config,
        session_factory=session_factory,
        clock=clock,
    )
    scheduler = BackgroundScheduler(
        timezone=dt.UTC,
        job_defaults={"coalesce": True, "max_instances": 1},
        executors={"default": {"type": "threadpool", "max_workers": 3}},
    )
    now = dt.datetime.now(dt.UTC)
    schedule = [
        ("sync-upload", jobs.upload, settings.upload_every_s, settings.first_upload_after_s),
        ("sync-heartbeat", jobs.heartbeat, settings.heartbeat_every_s, 15),
        ("sync-config", jobs.pull_config, settings.config_every_s, 30),
        ("sync-scores", jobs.refresh_scores, settings.scores_every_s, 1),
        ("sync-retention", jobs.retention, settings.retention_every_s, 600),
        ("sync-followup", jobs.pull_followup, settings.config_every_s, 20),
    ]
    for job_id, func, every, first in schedule:
        scheduler.add_job(
            _guard(job_id, func),
            "interval",
            seconds=every,
            id=job_id,
            name=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            # A run delayed by a busy moment or a clock step still happens once, not silently dropped
            # (the APScheduler default of 1 s drops it), and not repeated for each missed interval.
            misfire_grace_time=max(30, int(every)),
            next_run_time=now + dt.timedelta(seconds=first),
        )
    scheduler.start()
    return SyncService(scheduler, jobs)
