"""`kiosk-central set-alerts FILE`: a good file sets the rules, a bad one says each problem on its own
`FILE:LINE:` line and changes nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from sync.central import service
from sync.central.alert_rules import load_rules
from sync.central.cli import main as central_main
from sync.central.db import CentralDB, alert_rules

GOOD = """\
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
share = 0.5
window_minutes = 15
min_answers = 4
stores = ["paris-01"]
notify = [
  "mailto:manager@example.com",
  "https://crm.example.com/hooks/kiosk",
  { url = "https://bi.example.com/in", secret_env = "BI_SECRET" },
  "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7F",
  "ntfy://ntfy.example.com/store-alerts",
]
mute = [{ from = 2026-12-24, to = 2026-12-26 }]

[[rule]]
name = "praise"
kind = "positive_share"
question = "satisfaction"
share = 0.8
min_answers = 10
stores = "*"
notify = ["tgram://123456789:abcdefg_hijklmnop/12315544/"]

[[rule]]
name = "silent kiosk"
kind = "device"
check = "silent"
minutes = 30
stores = ["*"]

[[rule]]
name = "storm"
kind = "volume"
window_minutes = 5
more_than = 40
stores = ["*"]

[[rule]]
name = "nps today"
kind = "index_below"
index = "nps"
below = 20
stores = ["*"]
"""

BAD = """\
[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
share = 50
window_minutes = 15
min_answers = 4
stores = ["paris-01", "nowhere"]
notify = ["mailto://manager@example.com", "nosuchservice://x", "mailto:not-an-address"]

[[rule]]
name = "queue"
kind = "negative_share"
question = "satisfaction"
stores = ["*"]

[[rule]]
name = "what"
kind = "mood"
stores = ["*"]

[[rule]]
name = "quiet"
kind = "volume"
stores = ["*"]
colour = "red"
"""


def test_set_alerts_good_then_bad(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = CentralDB(url)
    service.add_device(db, "paris-01", "till-1")
    runner = CliRunner()
    for command in (["set-alerts"], ["deliver"], ["alerts"], ["alerts", "replay"]):
        assert runner.invoke(central_main, [*command, "--help"]).exit_code == 0
    good = tmp_path / "alerts.toml"
    good.write_text(GOOD, encoding="utf-8")
    ok = runner.invoke(central_main, ["set-alerts", str(good), "--db", url])
    assert ok.exit_code == 0, ok.output
    assert "5 alert rules set" in ok.output
    with db.reading() as conn:
        rules = {rule.name: rule for rule in load_rules(conn)}
    assert sorted(rules) == ["nps today", "praise", "queue", "silent kiosk", "storm"]
    queue = rules["queue"]
    assert [t.channel for t in queue.notify] == ["mail", "webhook", "webhook", "apprise", "apprise"]
    assert queue.notify[2].secret_env == "BI_SECRET"
    assert float(queue.share) == 0.5 and queue.window_minutes == 15 and queue.min_answers == 4
    assert queue.muted_on(__import__("datetime").date(2026, 12, 25))

    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, encoding="utf-8")
    result = runner.invoke(central_main, ["set-alerts", str(bad), "--db", url])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output
    expected = [
        (5, "rule[0].share"),
        (8, "'nowhere' is neither a store nor a group"),
        (9, "not Apprise's mailto://"),
        (9, "'nosuchservice'"),
        (9, "'not-an-address' is not a mail address"),
        (12, "another rule is named 'queue'"),
        (19, "not 'mood'"),
        (22, "a volume rule needs fewer_than, more_than or both"),
        (26, "rule[3].colour: unknown key"),
    ]
    for line_no, text in expected:
        assert any(line.startswith(f"{bad}:{line_no}: ") and text in line for line in lines), (
            line_no,
            text,
            lines,
        )
    assert len(lines) == len(expected), lines
    # Nothing changed.
    with db.reading() as conn:
        assert len(conn.execute(select(alert_rules)).all()) == 5

    # A file without a rule removes the rules of the last one.
    empty = tmp_path / "none.toml"
    empty.write_text("# no alerts for now\n", encoding="utf-8")
    cleared = runner.invoke(central_main, ["set-alerts", str(empty), "--db", url])
    assert cleared.exit_code == 0 and "5 removed" in cleared.output
    missing = runner.invoke(central_main, ["set-alerts", str(tmp_path / "nope.toml"), "--db", url])
    assert missing.exit_code == 2 and "nope.toml: cannot read" in missing.stderr


def test_replay_prints_when_each_rule_would_have_fired(tmp_path: Path) -> None:
    import datetime as dt

    from kiosk.config import default_config_text
    from tests.integration.sync.test_alert_kinds import upload

    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = CentralDB(url)
    service.add_device(db, "paris-01", "till-1")
    service.set_config(db, "paris-01", default_config_text("paris-01", "till-1", "Europe/Paris", "Paris"))
    morning = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris
    upload(db, morning, [1, 2, 1, 1, 5, 1], spacing_s=60)
    upload(db, morning + dt.timedelta(hours=3), [4, 5, 4, 1, 2, 5, 5], spacing_s=60)
    upload(db, morning + dt.timedelta(hours=5), [2, 2, 1, 1], spacing_s=30)
    rules = tmp_path / "try.toml"
    rules.write_text(
        """
[[rule]]
name = "strict"
kind = "negative_share"
question = "satisfaction"
share = 0.5
min_answers = 4
stores = ["paris-01"]

[[rule]]
name = "lenient"
kind = "negative_share"
question = "satisfaction"
share = 0.9
min_answers = 6
stores = ["*"]

[[rule]]
name = "kiosk"
kind = "device"
check = "silent"
stores = ["*"]

[[rule]]
name = "callbacks"
kind = "followup_open"
hours = 48
stores = ["*"]
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = [
        "alerts",
        "replay",
        str(rules),
        "--store",
        "paris-01",
        "--from",
        "2026-11-24",
        "--to",
        "2026-11-24",
    ]
    result = runner.invoke(central_main, [*args, "--db", url])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "strict (negative_share): would have fired 2 times",
        "  2026-11-24 09:03 -> 09:05  peak 4 of 4 unhappy (100 %)",
        "  2026-11-24 14:01 -> 14:01  peak 4 of 4 unhappy (100 %)",
        "lenient (negative_share): would not have fired",
        "kiosk (device): not replayable: central keeps no history of heartbeats",
        "callbacks (followup_open): not replayable: it reads the follow-ups as they are now",
    ]
    assert runner.invoke(central_main, ["alerts", "replay", "--help"]).exit_code == 0
    bad = runner.invoke(
        central_main, [*args[:4], "--store", "lyon", "--from", "2026-11-24", "--to", "x", "--db", url]
    )
    assert bad.exit_code == 2 and "Traceback" not in bad.output
