"""The touchscreen when the database cannot write (SQLite's query_only mode: the same refusal as a read-only
file; the full disk is tested in tests/integration/test_storage_full.py) and after a damaged
database was kept aside: the shopper is still thanked, the manager is warned, the held answers land later."""

from __future__ import annotations

from pathlib import Path

from kit import UiHarness, pump, tap
from test_manager import press_pin

from kiosk.bootstrap import open_kiosk
from kiosk.ui.app import DASHBOARD


def open_dashboard(ui: UiHarness) -> None:
    ui.root.open_pin()
    pump()
    press_pin(ui, "2468")
    assert ui.current == DASHBOARD


def test_a_database_that_cannot_write_still_thanks_the_shopper_warns_the_manager_and_writes_later(
    ui: UiHarness,
) -> None:
    conn = ui.kiosk.store.db.conn
    conn.execute("PRAGMA query_only = ON")
    for _ in range(3):
        tap(ui.target("2"))
        tap(ui.target("waiting"))
        tap(ui.target("3"))
        assert ui.current == "thanks"
        ui.tick(25)
    assert ui.rows() == []
    open_dashboard(ui)
    assert "PROBLÈME DE STOCKAGE : 9 réponses gardées en mémoire" in ui.screen.sync_text
    assert "read-only" in ui.screen.sync_text
    ui.tick(1)
    conn.execute("PRAGMA query_only = OFF")
    ui.tick(6)  # the retry timer, no new tap
    assert len(ui.rows()) == 9
    open_dashboard(ui)
    assert "STOCKAGE" not in ui.screen.sync_text


def test_the_dashboard_says_a_damaged_database_was_kept_aside(window: object, kiosk_dir: Path) -> None:
    db = kiosk_dir / "kiosk.db"
    db.write_bytes(b"this is no database, it is a shopping list" * 100)
    open_kiosk(kiosk_dir, recover=True).close()
    ui = UiHarness(kiosk_dir)
    try:
        open_dashboard(ui)
        assert "Base de données endommagée mise de côté sous kiosk.db.damaged-" in ui.screen.sync_text
        assert "not a SQLite database" in ui.screen.sync_text
    finally:
        ui.close()
