"""The traffic simulator (tools/traffic_sim.py) behind the repeated-press rule's defaults: on busy
simulated traffic, the default rule leaves genuine visits alone and catches press storms."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kiosk.domain.survey import RepeatRule

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "traffic_sim.py"


@pytest.fixture(scope="module")
def sim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("traffic_sim", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["traffic_sim"] = module
    spec.loader.exec_module(module)
    return module


def test_default_rule_on_120_visits_an_hour(sim: ModuleType) -> None:
    traffic = sim.simulate(sim.default_config(), 120, 150, seed=7)
    chosen = sim.judge(traffic, sim.Variant("default", sim.visit_rule(RepeatRule())))
    assert len(traffic.genuine) > 15_000 and sum(traffic.storm_answers.values()) > 2_000
    # Loose bounds around the documented 0.6 % and 96 % (docs/repeated-presses.md).
    assert chosen.genuine_flagged <= 1.5
    assert chosen.storm_caught >= 93
    assert abs(chosen.csat_kept - chosen.csat_true) < 1.5


def test_a_rule_flagging_the_second_of_two_alike_visits_fails_the_bound(sim: ModuleType) -> None:
    traffic = sim.simulate(sim.default_config(), 120, 150, seed=7)
    for rule in (sim.start_rule(10, 2), sim.visit_rule(RepeatRule(min_run=2))):
        figures = sim.judge(traffic, sim.Variant("pairs", rule))
        assert figures.genuine_flagged > 3


def test_the_table_command_prints_every_rate_and_variant(
    sim: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sim.main(["--hours", "5"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "%" in line]
    assert len(lines) == len(sim.RATES) * len(sim.VARIANTS)
    assert sum("(default)" in line for line in lines) == len(sim.RATES)
