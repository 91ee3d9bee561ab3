"""Full-disk campaign: shoppers keep tapping while the kiosk's filesystem is full, then space comes back.

The kiosk lives on a tiny tmpfs (root only; without root, SQLite's `max_page_count` makes the database full
instead). Visits are tapped through the app's own visit logic (`SurveyFlow` over `UiDeps.record`) until the
disk is full, then `--visits` more. The filesystem is then grown (or the page limit raised) and the app's
tick is called, as on the touchscreen, until nothing is held. It prints what was acknowledged as stored,
what was held, what was refused at the memory bound, and checks that every tap is stored exactly once, in
tap order, with `PRAGMA integrity_check` ok.

Run (as root for the tmpfs): .venv/bin/python tools/full_disk_campaign.py [--visits 1000] [--limit 10000]
Exit code 0 when every kept tap landed once and in order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.bootstrap import build_deps, open_kiosk  # noqa: E402
from kiosk.config import default_config_text  # noqa: E402
from kiosk.holding import HoldingRecorder  # noqa: E402
from kiosk.ui.presenters import Given, SurveyFlow, storage_lines  # noqa: E402

START = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=1000, help="visits tapped once the disk is full")
    parser.add_argument("--limit", type=int, default=10_000, help="answers held in memory at most")
    parser.add_argument("--tmpfs-size", default="1m", help="size of the tiny filesystem (default 1m)")
    args = parser.parse_args(argv)
    as_root = os.geteuid() == 0
    with tempfile.TemporaryDirectory(prefix="full-disk-") as tmp:
        mount = Path(tmp) / "mnt"
        mount.mkdir()
        if as_root:
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={args.tmpfs_size}", "tmpfs", str(mount)], check=True
            )
        try:
            return campaign(mount, as_root, args.visits, args.limit)
        finally:
            if as_root:
                subprocess.run(["umount", "-l", str(mount)], check=False)


def campaign(mount: Path, as_root: bool, visits: int, limit: int) -> int:
    data_dir = mount / "kiosk"
    data_dir.mkdir()
    text = default_config_text("full", "till-1", "Europe/Paris", "Full disk")
    (data_dir / "kiosk.toml").write_text(text, encoding="utf-8")
    kiosk = open_kiosk(data_dir)
    holder = HoldingRecorder(kiosk.recorder, limit=limit)
    deps = build_deps(kiosk, holder=holder)
    taps: list[tuple[tuple[str, str, str], bool]] = []

    def record(new: Given) -> object:
        result = deps.record(new)
        assert new.session_id is not None
        taps.append(((new.session_id, new.question_id, new.created_at.isoformat()), result is not None))
        return result

    flow = SurveyFlow(deps.config.survey, record)
    count = 0

    def visit() -> None:
        nonlocal count
        at, now = START + dt.timedelta(minutes=count), count * 100.0
        count += 1
        flow.answer(1 + count % 5, at, now)
        if flow.question is not None and flow.question.options:
            flow.answer(flow.question.options[0].id, at + dt.timedelta(seconds=2), now + 2)
        flow.answer(count % 11, at + dt.timedelta(seconds=4), now + 4)
        flow.tick(now + 50)

    if not as_root:
        pages = kiosk.store.db.conn.execute("PRAGMA page_count").fetchone()[0]
        kiosk.store.db.conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    while all(durable for _, durable in taps):
        visit()
    stored_before_full = sum(1 for _, durable in taps if durable)
    for _ in range(visits):
        visit()
    state = holder.state
    on_disk_while_full = kiosk.store.answer_count()
    acknowledged = sum(1 for _, durable in taps if durable)
    print(f"full disk by {'a ' + 'tmpfs' if as_root else 'the page limit'}: {state.problem}")
    print(
        f"taps {len(taps)}: acknowledged as stored {acknowledged} (on disk {on_disk_while_full}), "
        f"held in memory {state.held}, refused at the bound {state.refused}"
    )
    for line in storage_lines(deps.storage_status(), deps.config.store.tz, "en", deps.translator):
        print(f"manager screen: {line}")
    if as_root:
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
    else:
        kiosk.store.db.conn.execute("PRAGMA max_page_count = 1073741823")
    ticks = 0
    while deps.retry_storage(ticks * 0.25):
        ticks += 1
    stored = [
        (session, question, dt.datetime.fromisoformat(created).isoformat())
        for session, question, created in kiosk.store.db.conn.execute(
            "SELECT session_id, question_id, created_at FROM answers ORDER BY rowid"
        )
    ]
    kept = (
        [key for key, _ in taps][: stored_before_full + state.held] if state.refused else [k for k, _ in taps]
    )
    check = kiosk.store.db.execute("PRAGMA integrity_check").fetchone()[0]
    once = len(stored) == len(set(stored))
    in_order = stored == kept
    print(
        f"space back: drained in {ticks} ticks of 0.25 s; stored {len(stored)}, exactly once {once}, "
        f"in tap order {in_order}, integrity {check}, still held {holder.state.held}"
    )
    kiosk.close()
    return 0 if once and in_order and check == "ok" and not holder.state.held else 1


if __name__ == "__main__":
    sys.exit(main())
