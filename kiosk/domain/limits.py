"""Sizes every part of the system agrees on: the kiosk refuses at `init`/config load what head office would
refuse at upload, so an answer is never quarantined for a length the kiosk could have checked first."""

from __future__ import annotations

from typing import Final

MAX_ID: Final = 64  # store, device, question and option ids
MAX_SESSION: Final = 200  # a visit id (the kiosk makes UUIDs; an imported file may bring its own)
MAX_VALUE: Final = 200  # an answer's stored value (a typed comment, at most MAX_TEXT, fits)
MAX_VERSION: Final = 64  # `[survey] version`
MAX_LANGUAGE: Final = 8  # a language code
MAX_REASON: Final = 200  # a reason given for a rejected answer
MAX_SURVEY_QUESTIONS: Final = 100  # questions in one survey definition sent by a kiosk
MAX_OPTIONS: Final = 100  # options of one choice question
MAX_TEXT: Final = 160  # a typed comment (`text` question), after control characters are dropped
