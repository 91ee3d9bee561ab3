"""Screen texts in the shopper's language, from the gettext catalogs in assets/locale.

Message ids are the English texts. Question and option texts are not here: they come from kiosk.toml, per
language. A language without a catalog falls back to the English ids rather than failing.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from pathlib import Path

from kiosk.paths import asset_dir

DOMAIN = "kiosk"


def locale_dir() -> Path:
    return asset_dir() / "locale"


class Translator:
    """`translator(language, "Thank you!")` gives the text of one message in one language."""

    def __init__(self, languages: Iterable[str], directory: Path | None = None) -> None:
        where = directory or locale_dir()
        self._catalogs = {
            language: gettext.translation(DOMAIN, str(where), [language], fallback=True)
            for language in languages
        }

    def __call__(self, language: str, message: str) -> str:
        catalog = self._catalogs.get(language)
        return message if catalog is None else catalog.gettext(message)

    def has_catalog(self, language: str) -> bool:
        return isinstance(self._catalogs.get(language), gettext.GNUTranslations)


def language_name(language: str) -> str:
    """What the language button shows: the language's own name, so anyone finds theirs."""
    return {"fr": "Français", "en": "English", "de": "Deutsch", "es": "Español", "it": "Italiano"}.get(
        language, language.upper()
    )
