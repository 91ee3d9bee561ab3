"""The on-screen keyboard of a `text` question, without Kivy: the key rows (AZERTY in French, QWERTY in
English), the second layer with accents and digits, the one-shot capital, and the text typed within the
limit every part of the system agrees on (kiosk.domain.limits.MAX_TEXT).

Only what the stored comment would keep can be typed: no leading or double space, nothing past the limit,
so the field shows what is stored (kiosk.domain.survey.clean_text) and the counter never lies.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.domain.limits import MAX_TEXT

SHIFT, BACKSPACE, LAYER, SPACE, SKIP, SEND = "shift", "backspace", "layer", "space", "skip", "send"
ACTIONS = frozenset({SHIFT, BACKSPACE, LAYER, SPACE, SKIP, SEND})

# The three rows of letters; the fourth row (layer, comma, space, full stop) and the actions are the same
# for every language. French keyboards are AZERTY, English ones QWERTY; other languages get QWERTY.
LETTERS: dict[str, tuple[str, str, str]] = {
    "fr": ("azertyuiop", "qsdfghjklm", "wxcvbn'"),
    "en": ("qwertyuiop", "asdfghjkl'", "zxcvbnm"),
}
# The second layer: every accent French needs, and the digits (a till number, a time).
ACCENTS: tuple[str, str, str] = ("éèêëàâçùûô", "1234567890", "îïœü-!?")


@dataclass(frozen=True, slots=True)
class Key:
    """One key: `value` is the character it types or one of ACTIONS; `width` in key widths."""

    value: str
    label: str
    width: float = 1.0

    @property
    def action(self) -> bool:
        return self.value in ACTIONS


@dataclass(slots=True)
class TextEntry:
    """What has been typed on the keyboard, and which layer it shows."""

    language: str = "en"
    limit: int = MAX_TEXT
    text: str = ""
    accents: bool = False  # the second layer (accents and digits) is showing
    shifted: bool = False  # the next character is a capital

    def reset(self, language: str) -> None:
        self.language, self.text, self.accents, self.shifted = language, "", False, False

    @property
    def counter(self) -> str:
        return f"{len(self.text)} / {self.limit}"

    @property
    def full(self) -> bool:
        return len(self.text) >= self.limit

    def press(self, value: str) -> None:
        """A key was tapped (SEND and SKIP are the screen's to handle: they change nothing here)."""
        if value == SHIFT:
            self.shifted = not self.shifted
        elif value == LAYER:
            self.accents = not self.accents
        elif value == BACKSPACE:
            self.text = self.text[:-1]
        elif value == SPACE:
            if self.text and not self.text.endswith(" "):
                self._type(" ")
        elif value not in ACTIONS and len(value) == 1:
            self._type(value.upper() if self.shifted else value)
            self.shifted = False

    def _type(self, character: str) -> None:
        if len(self.text) + len(character) <= self.limit:
            self.text += character

    def rows(self) -> tuple[tuple[Key, ...], ...]:
        """The four rows of keys as they show now (capitals while shifted); each row is 10 key widths."""
        first, second, third = ACCENTS if self.accents else LETTERS.get(self.language, LETTERS["en"])

        def keys(characters: str) -> tuple[Key, ...]:
            return tuple(Key(c, c.upper() if self.shifted else c) for c in characters)

        return (
            keys(first),
            keys(second),
            (Key(SHIFT, "⇧", 1.5), *keys(third), Key(BACKSPACE, "⌫", 1.5)),
            (
                Key(LAYER, "abc" if self.accents else "éàç", 1.5),
                Key(",", ","),
                Key(SPACE, "", 5.5),
                Key(".", "."),
                Key("'", "'") if self.accents else Key("?", "?"),
            ),
        )
