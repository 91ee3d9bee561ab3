"""Run inside `xvfb-run`: start `kiosk run --windowed`, click the centre of the middle face with xdotool
(a real X pointer event, as a shopper's finger arrives from a touchscreen), then stop the kiosk.

Usage: python x11_click.py DATA_DIR. Prints the centre it clicked; exits non-zero when the kiosk never
became ready.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    data_dir = Path(sys.argv[1])
    kiosk = Path(sys.executable).with_name("kiosk")
    env = dict(os.environ, KIOSK_REPORT_READY="1")
    env.pop("SDL_VIDEODRIVER", None)
    proc = subprocess.Popen(
        [str(kiosk), "run", "--windowed", "--size", "800x480", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("ready"):
            print(f"kiosk did not start: {line!r}", file=sys.stderr)
            return 1
        centres = ast.literal_eval(line.split(" ", 3)[3])
        x, y = centres[len(centres) // 2]
        # No window manager under Xvfb: the window sits where `kiosk run --windowed` puts it, at (0, 0), so
        # window coordinates are screen coordinates.
        time.sleep(0.5)  # let the X server map the window before the pointer arrives
        subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True, timeout=20)
        print(f"clicked {x},{y}", flush=True)
        time.sleep(1.5)
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
