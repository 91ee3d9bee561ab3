"""A kiosk.toml pulled from head office: checked like a local one, kept aside, applied when the kiosk is idle.

Head office holds one configuration per store; the `[device] id` line is this kiosk's own, so it is
rewritten before checking. A configuration for another store, or one that does not pass the same checks as
`kiosk.toml`, is refused and the current one stays.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from kiosk.config import ConfigError, check_config_text, load_config
from kiosk.domain.survey import KioskConfig
from kiosk.paths import KioskPaths

PENDING_NAME = "kiosk.toml.pending"


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


def keep_pending(data_dir: Path, text: str) -> None:
    tmp = data_dir / f".{PENDING_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(pending_path(data_dir))
    finally:
        tmp.unlink(missing_ok=True)


def apply_pending_config(data_dir: Path) -> KioskConfig | None:
    """Replace kiosk.toml by the pending configuration (call at an idle moment); None when there is none.

    Checked again from the file, so what is applied is exactly what was checked; a bad file is left aside.
    """
    pending = pending_path(data_dir)
    if not pending.exists():
        return None
    try:
        config = load_config(pending)
    except ConfigError:
        # Kept for a look, but out of the way: it must not be tried again at every idle moment.
        pending.replace(pending.with_name(pending.name + ".rejected"))
        raise
    pending.replace(KioskPaths(data_dir).config)
    return config
