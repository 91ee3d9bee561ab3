"""The rules page's form and the export: every key a rule kind takes has a field, a stored rule comes back
from its form unchanged, and the exported TOML reads back as the same tables."""

from __future__ import annotations

import datetime as dt
import tomllib

from sync.central.alert_rules import KEYS
from sync.central.rule_edits import (
    LISTS,
    NUMBERS,
    TEXTS,
    check_rule,
    definition_from_form,
    form_from_definition,
    toml_value,
)

EXAMPLES = [
    {
        "name": "queue",
        "kind": "negative_share",
        "question": "satisfaction",
        "share": 0.5,
        "window_minutes": 15,
        "min_answers": 4,
        "stores": ["paris-01", "north"],
        "notify": ["mailto:a@example.com", {"url": "https://crm.example.com/h", "secret_env": "CRM_SECRET"}],
        "mute": [{"from": dt.date(2026, 12, 24), "to": dt.date(2026, 12, 26)}],
        "clear_minutes": 30,
    },
    {
        "name": "storm",
        "kind": "volume",
        "window_minutes": 5,
        "more_than": 40,
        "fewer_than": 2,
        "stores": ["*"],
    },
    {
        "name": "nps",
        "kind": "index_below",
        "index": "nps",
        "period": "week",
        "below": "target",
        "stores": ["*"],
    },
    {
        "name": "low",
        "kind": "index_below",
        "index": "csat",
        "below": -12.5,
        "min_answers": 20,
        "stores": ["*"],
    },
    {"name": "disk", "kind": "device", "check": "low_disk", "free_disk_mb": 500, "stores": ["*"]},
    {"name": "waiting", "kind": "followup_open", "hours": 48, "stores": ["*"]},
]


def test_every_key_of_every_kind_has_a_field() -> None:
    assert set().union(*KEYS.values()) <= {*TEXTS, *NUMBERS, *LISTS}


def test_a_rule_comes_back_from_its_form_unchanged() -> None:
    for definition in EXAMPLES:
        check_rule(definition, None)  # a valid rule to start with
        assert definition_from_form(form_from_definition(definition)) == definition, definition["name"]


def test_the_exported_toml_reads_back_as_the_same_table() -> None:
    for definition in EXAMPLES:
        text = "\n".join(f"{key} = {toml_value(value)}" for key, value in definition.items())
        assert tomllib.loads(text) == definition
    tricky = 'quote " back\\slash é\n\ttab'
    assert tomllib.loads("s = " + toml_value(tricky)) == {"s": tricky}
