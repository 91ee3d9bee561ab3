"""Runtime hook of the bundle (kiosk.spec), run before the entry script: the environment of a frozen kiosk.

Kivy's own log mode (its handlers, sys.stderr redirected into its log files) is replaced by plain Python
logging in the bundle, so warnings and errors reach stderr, which systemd sends to the journal. An operator
can still choose another mode by setting KIVY_LOG_MODE before starting the bundle.
"""

from __future__ import annotations

import os

os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
