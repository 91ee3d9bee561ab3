"""A configuration from head office gets this kiosk's device id whatever legal TOML form it uses."""

from __future__ import annotations

import pytest

from kiosk.config import check_config_text, default_config_text
from sync.remote_config import with_device_id

BASE = default_config_text("paris-01", "head-office", "Europe/Paris", "Paris")
DEVICE_TABLE = '[device]\n# This kiosk, unique within the store.\nid = "head-office"\n'


def top(extra: str) -> str:
    """The default file without its [device] table, with `extra` before the first table."""
    assert DEVICE_TABLE in BASE
    return extra + "\n" + BASE.replace(DEVICE_TABLE, "")


@pytest.mark.parametrize(
    "text",
    [
        BASE,
        BASE.replace("[device]", "[ device ]"),
        BASE.replace("[device]", "[device]  # this till"),
        BASE.replace("[device]", '["device"]'),
        top('device.id = "head-office"'),
        top('device = { id = "head-office" }'),
    ],
    ids=["plain", "spaced header", "header comment", "quoted header", "dotted key", "inline table"],
)
def test_every_form_set_config_accepts_gets_this_device_id(text: str) -> None:
    check_config_text(text, "set-config")  # what head office's `set-config` accepts
    config = check_config_text(with_device_id(text, "till-7"), "kiosk.toml")
    assert config.device_id == "till-7" and config.store.id == "paris-01"


def test_comments_and_the_rest_of_the_file_are_kept() -> None:
    out = with_device_id(BASE, "till-7")
    assert out == BASE.replace('id = "head-office"', 'id = "till-7"')


def test_text_that_is_not_toml_is_left_for_the_check_to_explain() -> None:
    assert with_device_id("[store\n", "till-7") == "[store\n"
