"""The entry script of the PyInstaller bundle (kiosk.spec): the same `kiosk` command line as the venv's.

It lives outside the `kiosk` package so that PyInstaller's analysis does not put `kiosk/` itself on the
module search path; `python -m kiosk` is not needed for anything else.
"""

from __future__ import annotations

from kiosk.cli import main

if __name__ == "__main__":
    main()
