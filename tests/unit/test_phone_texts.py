"""The phone page's texts come from the head-office pages' translations: every one has its French, with the
same placeholders, and an unknown language reads English."""

from __future__ import annotations

import re

from sync.central.web.i18n import FR
from sync.central.web.texts import MESSAGES, pick_language, texts


def test_every_phone_text_is_translated_to_french_with_the_same_placeholders() -> None:
    french = texts("fr")
    for key, english in MESSAGES.items():
        assert english in FR, key
        assert french[key] != english, key
        assert set(re.findall(r"{\w+}", french[key])) == set(re.findall(r"{\w+}", english)), key


def test_english_is_the_message_id_and_the_fallback() -> None:
    assert texts("en") == MESSAGES
    assert texts("de") == MESSAGES
    assert texts("fr")["send"] == "Envoyer"
    assert pick_language("fr-CA,fr;q=0.9") == "fr" and pick_language("de") == "en"
