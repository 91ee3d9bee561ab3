"""A configuration pulled from head office is applied at the next idle moment on the start screen: never in
the middle of a shopper's visit, and a bad one is set aside while the current survey stays on screen."""

from __future__ import annotations

from kit import UiHarness, tap, texts

from kiosk import bootstrap
from kiosk.bootstrap import build_deps
from kiosk.ui.presenters import UiDeps
from sync.remote_config import keep_pending, pending_path


def listen(ui: UiHarness) -> list[str]:
    """Wire the harness's root to the real refresher, as `kiosk run` does (the fake clocks kept)."""
    applied: list[str] = []

    def rebuild() -> UiDeps:
        deps = build_deps(ui.kiosk, new_config=refresh)
        deps.monotonic, deps.wall = ui.clock, ui.deps.wall
        return deps

    refresh = bootstrap.config_refresher(
        ui.kiosk, rebuild, lambda config: applied.append(config.survey.version)
    )
    ui.root.deps.new_config = refresh
    return applied


def test_new_questions_appear_only_once_the_visit_is_over(ui: UiHarness) -> None:
    applied = listen(ui)
    current = (ui.data_dir / "kiosk.toml").read_text(encoding="utf-8")
    keep_pending(
        ui.data_dir, current.replace("Comment s'est passée votre visite aujourd'hui ?", "Votre avis ?")
    )
    tap(ui.target("4"))
    ui.tick(5)  # a shopper in the middle of the visit: nothing changes under their finger
    assert ui.current == "question-recommend" and applied == []
    tap(ui.target("9"))
    ui.tick(3.0)  # thank you, back to the start
    ui.tick(2.5)  # nobody touching: the moment to switch
    assert applied and "Votre avis ?" in texts(ui.screen)
    assert not pending_path(ui.data_dir).exists()
    assert "Votre avis ?" in (ui.data_dir / "kiosk.toml").read_text(encoding="utf-8")
    tap(ui.target("5"))
    rows = ui.rows()
    assert [r["value"] for r in rows] == ["4", "9", "5"]
    assert rows[-1]["survey_version"] == applied[0] != rows[0]["survey_version"]


def test_a_configuration_that_no_longer_checks_is_set_aside(ui: UiHarness) -> None:
    applied = listen(ui)
    current = (ui.data_dir / "kiosk.toml").read_text(encoding="utf-8")
    keep_pending(ui.data_dir, current.replace('kind = "nps"', 'kind = "npss"'))
    ui.tick(2.5)
    assert applied == []
    assert "Comment s'est passée votre visite aujourd'hui ?" in texts(ui.screen)
    assert not pending_path(ui.data_dir).exists()
    assert pending_path(ui.data_dir).with_name("kiosk.toml.pending.rejected").exists()
