"""A demo head office for the browser tests and the screenshots: a directory of regions and stores,
users of each role, five weeks of answers up to today through the real ingest, and devices in every
state (online, silent while the store is open, never seen)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

from kiosk.config import default_config_text
from sync.central import accounts, configs, service
from sync.central.db import CentralDB
from sync.central.directory import set_stores
from sync.central.service import DeviceIdentity

PASSWORD = "correct horse battery"
WEEK = 'mon = "09:00-19:00", tue = "09:00-19:00", wed = "09:00-19:00", thu = "09:00-19:00", fri = "09:00-20:00", sat = "09:00-20:00", sun = "closed"'
# (id, name, group, mood: the share of happy visits, visits a day)
STORES = [
    ("paris-01", "Paris Rivoli", "idf", 0.80, 40),
    ("paris-02", "Paris Bastille", "idf", 0.65, 30),
    ("versailles-03", "Versailles", "idf", 0.88, 12),
    ("lille-04", "Lille Centre", "north", 0.70, 25),
    ("rouen-05", "Rouen", "north", 0.55, 18),
    ("nice-06", "Nice Masséna", "south", 0.75, 22),
    ("lyon-07", "Lyon Part-Dieu", "south", 0.60, 35),
    ("airport-08", "Aéroport CDG", "idf", 0.50, 3),
]
DIRECTORY = (
    """
[groups.france]
name = "France"
targets = { nps = 30, csat = 80, happy_index = 75 }

[groups.idf]
name = "Île-de-France"
parent = "france"
targets = { nps = 35 }

[groups.north]
name = "Nord"
parent = "france"

[groups.south]
name = "Sud"
parent = "france"
targets = { nps = 25, csat = 75 }
"""
    + "".join(
        f"""
[stores.{sid}]
name = "{name}"
group = "{group}"
timezone = "Europe/Paris"
opening_hours = {{ {'mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00"' if sid == "airport-08" else WEEK} }}
"""
        for sid, name, group, _, _ in STORES
    )
    + "\n[stores.paris-01.targets]\nnps = 45\ncsat = 85\n"
)

REASONS = ["waiting", "staff", "price", "cleanliness", "availability"]
PARIS = ZoneInfo("Europe/Paris")


def _visit(rng: random.Random, mood: float) -> tuple[int, int | None, str | None]:
    happy = rng.random() < mood
    satisfaction = rng.choice([4, 5, 5]) if happy else rng.choice([1, 2, 3])
    recommend = (
        (rng.choice([8, 9, 10, 10]) if happy else rng.choice([2, 5, 6, 7])) if rng.random() < 0.8 else None
    )
    reason = rng.choice(REASONS[: 2 + int(rng.random() * 4)]) if satisfaction <= 2 else None
    return satisfaction, recommend, reason


def build(db: CentralDB, today: dt.date, days: int = 35, seed: int = 7) -> None:
    set_stores(db, "demo", DIRECTORY)
    accounts.add_user(db, "demo", "alice", "admin", PASSWORD, email="alice@example.com")
    accounts.add_user(db, "demo", "nora", "viewer", PASSWORD, group="north", language="fr")
    accounts.add_user(db, "demo", "pierre", "manager", PASSWORD, store="paris-01", language="fr")
    rng = random.Random(seed)
    now = service.now_utc()
    for sid, name, _group, mood, per_day in STORES:
        service.set_config(db, sid, default_config_text(sid, "till-1", "Europe/Paris", name))
        service.add_device(db, sid, "till-1")
        items: list[dict[str, object]] = []
        for back in range(days, -1, -1):
            day = today - dt.timedelta(days=back)
            if day.weekday() == 6 and sid != "airport-08":
                continue
            for _ in range(max(1, int(rng.gauss(per_day, per_day / 5)))):
                hour = min(19, max(9, int(rng.triangular(9, 19.99, 17 if day.weekday() >= 4 else 12))))
                local = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), PARIS)
                if local.astimezone(dt.UTC) > now:
                    continue
                satisfaction, recommend, reason = _visit(rng, mood)
                items += _items(local, satisfaction, recommend, reason, suspect=False)
                if rng.random() < 0.03:  # a child pressing the same face again
                    again = local + dt.timedelta(seconds=3)
                    items += _items(again, satisfaction, None, None, suspect=True)
        for start in range(0, len(items), 500):
            result = service.ingest(db, DeviceIdentity(sid, "till-1"), items[start : start + 500], now)
            assert not result.rejected, result.rejected[:3]
    # Devices: most report now; Rouen's kiosk went quiet three hours ago; the airport (open all day) too.
    # Most applied their store's configuration; Lyon's older release refused it (and says why).
    for sid, *_ in STORES:
        seen = now - dt.timedelta(hours=3) if sid in ("rouen-05", "airport-08") else now
        version = configs.served_version(db, sid)
        body: dict[str, object] = {
            "app_version": "0.9.0" if sid != "lyon-07" else "0.8.2",
            "pending": 0 if seen == now else 57,
            "quarantined": 1 if sid == "lille-04" else 0,
            "free_disk_bytes": 12_400_000_000,
            "device_clock": (seen + dt.timedelta(seconds=2)).isoformat(),
            "config_version": version,
            "config_applied_at": service.format_utc(seen - dt.timedelta(days=2)),
        }
        if seen != now:  # its oldest unsent answer was made 40 minutes before it went quiet
            body["oldest_unsynced_age_s"] = 40 * 60
        if sid == "lyon-07":
            body["config_version"] = None
            body["config_refused"] = {
                "version": version,
                "digest": "0" * 64,
                "reason": "configuration from head office refused: kiosk.toml:30: followup: unknown key",
                "at": service.format_utc(seen),
            }
        service.heartbeat(db, DeviceIdentity(sid, "till-1"), body, seen)
    service.add_device(db, "paris-02", "till-2")  # registered, never seen


def _items(
    local: dt.datetime, satisfaction: int, recommend: int | None, reason: str | None, suspect: bool
) -> list[dict[str, object]]:
    session = str(uuid.uuid4())
    answers = [("satisfaction", str(satisfaction))]
    if reason:
        answers.append(("reason", reason))
    if recommend is not None:
        answers.append(("recommend", str(recommend)))
    return [
        {
            "id": str(uuid.uuid4()),
            "created_at": (local + dt.timedelta(seconds=4 * i)).isoformat(),
            "local_day": local.date().isoformat(),
            "question": question,
            "language": "fr",
            "suspect": suspect,
            "session": session,
            "value": value,
            "survey_version": "v1",
        }
        for i, (question, value) in enumerate(answers)
    ]
