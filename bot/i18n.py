"""The bot's languages: one gettext catalog per language in bot/locales/<code>/LC_MESSAGES/messages.po.

The .po sources are read at start-up: polib turns each into an in-memory .mo and the standard
library's gettext serves it (plural forms included), so a checkout, `make run` and the image need
no compile step and can never serve a stale .mo. Babel, a development tool here, extracts the
English texts and updates the catalogs (`make translations`). English is the source language and
needs no catalog.
"""
from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from pathlib import Path

import polib

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE = "en"
AUTO = "auto"  # the /language choice "follow my Telegram language" (nothing stored)


@dataclass(frozen=True)
class Language:
    code: str  # a catalog's directory name: "de", "pt_BR"
    name: str  # the language's own name: "Deutsch", "Português (Brasil)"
    tr: gettext.NullTranslations

    @property
    def api_code(self) -> str:
        """The Bot API's language_code for the command menu and profile (ISO 639-1, no region)."""
        return self.code.split("_")[0].lower()


def po_path(code: str, directory: Path = LOCALES) -> Path:
    return directory / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(path: Path) -> gettext.GNUTranslations:
    """A catalog's translated entries (fuzzy and untranslated ones fall back to English)."""
    return gettext.GNUTranslations(io.BytesIO(polib.pofile(str(path)).to_binary()))


class Languages:
    """The languages the bot speaks, English first, and which one answers a user."""

    def __init__(self, languages: list[Language], warnings: tuple[str, ...] = ()) -> None:
        self.by_code = {lang.code: lang for lang in languages}
        self.warnings = warnings  # catalogs left out or incomplete, for `python -m bot --check`
        self.english = self.by_code[SOURCE]
        self._lower = {code.lower(): lang for code, lang in self.by_code.items()}
        self._base: dict[str, Language] = {}
        for lang in languages:  # "pt" → pt_BR when there is no plain "pt" catalog
            self._base.setdefault(lang.api_code, lang)
        for lang in languages:
            if lang.code.lower() == lang.api_code:
                self._base[lang.api_code] = lang

    @classmethod
    def load(cls, directory: Path = LOCALES) -> Languages:
        english = gettext.NullTranslations()
        languages = [Language(SOURCE, "English", english)]
        warnings: list[str] = []
        for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            code = path.parent.parent.name
            catalog = polib.pofile(str(path))
            tr = gettext.GNUTranslations(io.BytesIO(catalog.to_binary()))
            name = own_name(tr)
            if name == "English":  # a fresh `pybabel init`: served, it would be a second "English" button
                warnings.append(f"language {code} is left out until its name is translated "
                                f'(msgctxt "language name" in {path.relative_to(directory.parent.parent)})')
                continue
            if (done := catalog.percent_translated()) < 100:
                warnings.append(f"language {code} ({name}) is {done}% translated: the rest is answered in English")
            languages.append(Language(code, name, tr))
        return cls(languages, tuple(warnings))

    def __iter__(self):
        return iter(self.by_code.values())

    def __len__(self) -> int:
        return len(self.by_code)

    def get(self, code: str | None) -> Language | None:
        return self.by_code.get(code or "")

    def negotiate(self, telegram_code: str | None) -> Language:
        """A Telegram language_code ("pt-br", "de", "en-GB") → the exact catalog, else the one of
        its base language, else English."""
        if not telegram_code:
            return self.english
        tag = telegram_code.replace("-", "_").lower()
        return self._lower.get(tag) or self._base.get(tag.split("_")[0]) or self.english

    def resolve(self, chosen: str | None, telegram_code: str | None) -> Language:
        """The language a user chose with /language if the bot still speaks it, else Telegram's."""
        return self.by_code.get(chosen or "") or self.negotiate(telegram_code)


def own_name(tr: gettext.NullTranslations) -> str:
    # TRANSLATORS: the name of your language in your language, shown on the /language buttons.
    return tr.pgettext("language name", "English")
