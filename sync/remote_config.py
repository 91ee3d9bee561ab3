"""A kiosk.toml pulled from head office: checked like a local one, kept aside, applied when the kiosk is idle.

Head office holds one configuration per store; the `[device] id` line is this kiosk's own, so it is
rewritten before checking. A configuration for another store, or one that does not pass the same checks as
`kiosk.toml`, is refused and the current one stays.

What became of each file head office sent is kept in `config-state.json` (the version central named in
`X-Config-Version`, the sha256 of the file as served, when): the one pending, the one applied and the last
one refused with its reason. The heartbeat reports the last two (`config_report`), which is how head office
shows a configuration's rollout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from kiosk.config import ConfigError, check_config_text, load_config
from kiosk.domain.survey import KioskConfig
from kiosk.paths import KioskPaths

PENDING_NAME = "kiosk.toml.pending"
STATE_NAME = "config-state.json"


class RemoteConfigError(Exception):
    """The pulled configuration is refused; the message says why in one line."""


def with_device_id(text: str, device_id: str) -> str:
    """The configuration text with this kiosk's device id in its `device` table.

    Through tomlkit, so any legal TOML form that `set-config` accepts is understood (`[ device ]`, a dotted
    `device.id = …`, an inline table) and the rest of the file, comments included, is kept as written. Text
    that is not TOML is returned as is: the check that follows says what is wrong with it."""
    # Here, not at the top: `kiosk run` imports this module before its first frame.
    import tomlkit
    import tomlkit.exceptions

    try:
        document = tomlkit.parse(text)
        device = document.get("device")
        if device is None:
            table = tomlkit.table()
            table["id"] = device_id
            document["device"] = table
        elif isinstance(device, dict):
            device["id"] = device_id
        else:
            return text  # `device = 3`: refused by the check, with its line
        return tomlkit.dumps(document)
    except (tomlkit.exceptions.TOMLKitError, ValueError, RecursionError):
        return text


def check_remote_config(raw: bytes, current: KioskConfig) -> tuple[KioskConfig, str]:
    """The checked configuration and its text for this device, or RemoteConfigError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteConfigError("configuration from head office is not UTF-8 text") from None
    text = with_device_id(text, current.device_id)
    try:
        config = check_config_text(text, "kiosk.toml")
    except ConfigError as error:
        problem = error.problems[0]
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        what = "is not valid TOML" if "invalid TOML" in problem else "refused"
        raise RemoteConfigError(f"configuration from head office {what}: {problem}{more}") from None
    if config.store.id != current.store.id:
        raise RemoteConfigError(
            f"configuration from head office is for store {config.store.id!r}, not {current.store.id!r}"
        )
    if config.device_id != current.device_id:
        raise RemoteConfigError("configuration from head office changes the device id")
    return config, text


def pending_path(data_dir: Path) -> Path:
    return data_dir / PENDING_NAME


def served_digest(raw: bytes) -> str:
    """The sha256 (hex) of a configuration as head office served it (before this kiosk's device id)."""
    return hashlib.sha256(raw).hexdigest()


def parse_version(header: str | None) -> int | None:
    """Central's configuration version from `X-Config-Version` (None: absent, from an older central)."""
    try:
        value = int(header or "")
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_state(data_dir: Path) -> dict[str, Any]:
    """`config-state.json`; empty when missing or unreadable (the heartbeat then reports nothing)."""
    try:
        data = json.loads((data_dir / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _update_state(data_dir: Path, **changes: Any) -> None:
    state = read_state(data_dir)
    for key, value in changes.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    _write_atomic(data_dir / STATE_NAME, json.dumps(state, ensure_ascii=False, indent=1))


def _stamp(now: dt.datetime | None) -> str:
    from kiosk.domain.days import format_utc

    return format_utc(now or dt.datetime.now(dt.UTC))


def keep_pending(data_dir: Path, text: str, version: int | None = None, digest: str | None = None) -> None:
    """Keep a checked configuration aside until the app applies it, with the version and digest it came
    with."""
    _write_atomic(pending_path(data_dir), text)
    with contextlib.suppress(OSError):
        # A newer file was accepted: an earlier refusal no longer describes what head office serves.
        _update_state(data_dir, pending={"version": version, "digest": digest}, refused=None)


def record_refused(
    data_dir: Path, version: int | None, digest: str, reason: str, now: dt.datetime | None = None
) -> None:
    """Remember the configuration refused and why (the heartbeat tells head office); never raises."""
    refusal = {"version": version, "digest": digest, "reason": reason[:500], "at": _stamp(now)}
    with contextlib.suppress(OSError):
        _update_state(data_dir, refused=refusal)


def config_report(data_dir: Path) -> dict[str, Any]:
    """The heartbeat's configuration fields: what is applied and the last refusal (sync.protocol)."""
    state = read_state(data_dir)
    found = state.get("applied")
    applied: dict[str, Any] = found if isinstance(found, dict) else {}
    refused = state.get("refused")
    if not isinstance(refused, dict):
        refused = None
    return {
        "config_version": applied.get("version"),
        "config_digest": applied.get("digest"),
        "config_applied_at": applied.get("at"),
        "config_refused": refused,
    }


def apply_pending_config(data_dir: Path, now: dt.datetime | None = None) -> KioskConfig | None:
    """Replace kiosk.toml by the pending configuration (call at an idle moment); None when there is none.

    Checked again from the file, so what is applied is exactly what was checked; a bad file is left aside
    and recorded as refused (with its first problem).
    """
    pending = pending_path(data_dir)
    if not pending.exists():
        return None
    meta = read_state(data_dir).get("pending")
    meta = meta if isinstance(meta, dict) else {}
    try:
        config = load_config(pending)
    except ConfigError as error:
        # Kept for a look, but out of the way: it must not be tried again at every idle moment.
        pending.replace(pending.with_name(pending.name + ".rejected"))
        record_refused(data_dir, meta.get("version"), str(meta.get("digest") or ""), error.problems[0], now)
        raise
    pending.replace(KioskPaths(data_dir).config)
    applied = {"version": meta.get("version"), "digest": meta.get("digest"), "at": _stamp(now)}
    with contextlib.suppress(OSError):
        _update_state(data_dir, pending=None, applied=applied)
    return config
