"""Writes stored answers as CSV or JSON Lines, in the columns `kiosk import` reads back.

Shared by `kiosk export` and the manager screen's Export button. A file is written beside its target,
fsynced, then renamed over it: a USB stick pulled mid-export leaves no half file under the final name.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from kiosk.storage import EXPORT_COLUMNS, ResponseStore

FORMATS = ("csv", "jsonl")
# The export names the columns as `kiosk import` reads them, so an export can be imported again.
EXPORT_HEADER = tuple({"session_id": "session", "question_id": "question"}.get(c, c) for c in EXPORT_COLUMNS)


def write_answers(handle: IO[str], rows: Iterable[dict[str, Any]], fmt: str, numeric: set[str]) -> int:
    """Write the rows of `ResponseStore.answers`; numeric questions' values become numbers in JSON Lines."""
    count = 0
    writer = csv.writer(handle, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_HEADER)
    for row in rows:
        values = list(row.values())
        if writer is not None:
            writer.writerow(values)
        else:
            item = dict(zip(EXPORT_HEADER, values, strict=True))
            # By the answer's own kind: a question that changed kind keeps its old answers as they were.
            if item["question"] in numeric and str(item["value"]).lstrip("-").isdigit():
                item["value"] = int(item["value"])
            item["suspect"] = bool(item["suspect"])
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    return count


def export_to_file(
    store: ResponseStore, target: Path, fmt: str, start: dt.date | None = None, end: dt.date | None = None
) -> int:
    """Write every answer of the store-local days in range to `target`, atomically; OSError if it cannot."""
    numeric = {q.id for q in store.config.survey.questions if q.scale is not None}
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            count = write_answers(handle, store.answers(start, end), fmt, numeric)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return count
