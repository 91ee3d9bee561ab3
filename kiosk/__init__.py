"""In-store customer-feedback kiosk: offline-first answers, honest daily scores, sync to head office."""

from __future__ import annotations

import datetime as _dt

__version__ = "0.1.0"

# The day this release was cut. A device clock earlier than this is certainly wrong (a Raspberry Pi has no
# battery clock and may boot in 1970); `kiosk doctor` checks it.
RELEASE_DATE = _dt.date(2026, 11, 24)
