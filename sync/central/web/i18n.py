"""French and English for the head-office pages: texts (English is the key, French beside it) and numbers,
percentages and dates formatted by Babel in the page's language ("75,0 %" in French)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_timedelta
from babel.numbers import NumberPattern, parse_pattern
from babel.units import format_unit

LANGUAGES = ("en", "fr")
LOCALES = {"en": "en_GB", "fr": "fr_FR"}

FR: dict[str, str] = {
    "Sign in": "Se connecter",
    "Sign out": "Se déconnecter",
    "User name": "Nom d'utilisateur",
    "Password": "Mot de passe",
    "Head office": "Siège",
    "Overview": "Vue d'ensemble",
    "Fleet": "Parc",
    "Users": "Utilisateurs",
    "Audit log": "Journal d'audit",
    "Stores": "Magasins",
    "Store": "Magasin",
    "Group": "Groupe",
    "Role": "Rôle",
    "Scope": "Périmètre",
    "Language": "Langue",
    "E-mail": "E-mail",
    "Every store": "Tous les magasins",
    "Add a user": "Ajouter un utilisateur",
    "Add": "Ajouter",
    "Disable": "Désactiver",
    "Enable": "Réactiver",
    "Disabled": "Désactivé",
    "Active": "Actif",
    "End sessions": "Fermer les sessions",
    "Reset password": "Réinitialiser le mot de passe",
    "New password": "Nouveau mot de passe",
    "Status": "État",
    "Actions": "Actions",
    "When": "Quand",
    "Who": "Qui",
    "What": "Quoi",
    "Target": "Cible",
    "Something went wrong": "Une erreur est survenue",
    "Back to the overview": "Retour à la vue d'ensemble",
    "Period": "Période",
    "Today": "Aujourd'hui",
    "Yesterday": "Hier",
    "7 days": "7 jours",
    "30 days": "30 jours",
    "This month": "Ce mois-ci",
    "From": "Du",
    "To": "Au",
    "Rank by": "Classer par",
    "Show": "Afficher",
    "Responses": "Réponses",
    "Repeated presses": "Appuis répétés",
    "Change": "Évolution",
    "Gap": "Écart",
    "Trend": "Tendance",
    "Ranking score": "Score de classement",
    "Rank": "Rang",
    "Total": "Total",
    "No store in your scope has answers in this period.": "Aucun magasin de votre périmètre n'a de réponses sur cette période.",
    "Export CSV": "Exporter en CSV",
    "Export XLSX": "Exporter en XLSX",
    "Raw answers CSV": "Réponses brutes CSV",
    "Raw answers XLSX": "Réponses brutes XLSX",
    "previous period": "période précédente",
    "Ranking score pulls stores with few responses toward the average (HappyOrNot's formula).": "Le score de classement ramène vers la moyenne les magasins ayant peu de réponses (formule HappyOrNot).",
    "Daily trend": "Tendance quotidienne",
    "Weekly trend": "Tendance hebdomadaire",
    "Responses by weekday and hour (store time)": "Réponses par jour et par heure (heure du magasin)",
    "Distribution": "Répartition",
    "Top reasons": "Principales raisons",
    "Reason": "Raison",
    "Against its group": "Par rapport à son groupe",
    "Group average": "Moyenne du groupe",
    "Devices": "Appareils",
    "Device": "Appareil",
    "Last seen": "Vu pour la dernière fois",
    "Pending": "En attente",
    "Oldest unsynced": "Plus ancienne non envoyée",
    "Quarantined": "En quarantaine",
    "App version": "Version",
    "Configuration": "Configuration",
    "Free disk": "Disque libre",
    "Clock skew": "Décalage d'horloge",
    "Online": "En ligne",
    "Silent": "Silencieux",
    "Never seen": "Jamais vu",
    "Silent during opening hours": "Silencieux pendant les heures d'ouverture",
    "never": "jamais",
    "Mon": "lun.",
    "Tue": "mar.",
    "Wed": "mer.",
    "Thu": "jeu.",
    "Fri": "ven.",
    "Sat": "sam.",
    "Sun": "dim.",
    "Skip to content": "Aller au contenu",
    "Main": "Principal",
    "sparkline": "courbe",
    "Store page": "Page magasin",
    "Index": "Indice",
    "Store directory": "Annuaire des magasins",
    "Time zone": "Fuseau horaire",
    "Link to this view": "Lien vers cette vue",
    "Enrolment code": "Code d'enrôlement",
    "On the kiosk run": "Sur la borne, lancez",
    "and type this code. It works once, for 15 minutes, and is not shown again.": "et tapez ce code. Il sert une fois, pendant 15 minutes, et ne sera plus affiché.",
    "Add a device": "Ajouter un appareil",
    "Get an enrolment code": "Obtenir un code d'enrôlement",
    "Codes waiting": "Codes en attente",
    "Revoke": "Révoquer",
    "Opening hours": "Heures d'ouverture",
    "group": "groupe",
    "Load a directory file": "Charger un fichier d'annuaire",
    "Directory file": "Fichier d'annuaire",
    "Load": "Charger",
    "The same TOML as kiosk-central set-stores FILE: [groups.ID] (name, parent, targets) and [stores.ID] (name, group, timezone, opening_hours, closed_days, targets). Entries are added or replaced; the whole file is checked first.": "Le même TOML que kiosk-central set-stores FICHIER : [groups.ID] (name, parent, targets) et [stores.ID] (name, group, timezone, opening_hours, closed_days, targets). Les entrées sont ajoutées ou remplacées ; tout le fichier est vérifié d'abord.",
    "below target": "sous la cible",
    "on target": "au-dessus de la cible",
    "Follow-ups": "Suivis",
    "Alerts": "Alertes",
    "Filters": "Filtres",
    "Any status": "Tous les états",
    "Score": "Score",
    "Any score": "Toutes les notes",
    "Age": "Ancienneté",
    "Any age": "Toute ancienneté",
    "Open over 24 h": "Ouverts depuis plus de 24 h",
    "Open over 48 h": "Ouverts depuis plus de 48 h",
    "Open over 7 days": "Ouverts depuis plus de 7 jours",
    "Search the comments": "Chercher dans les commentaires",
    "Open": "Ouvert",
    "In progress": "En cours",
    "Contacted": "Contacté",
    "Resolved": "Résolu",
    "Comment": "Commentaire",
    "(no comment)": "(pas de commentaire)",
    "Contact": "Contact",
    "Contact details not readable": "Coordonnées illisibles",
    "No contact details": "Pas de coordonnées",
    "The visit's answers": "Les réponses du passage",
    "Not synced yet": "Pas encore synchronisées",
    "Assigned to": "Attribué à",
    "nobody": "personne",
    "History": "Historique",
    "Note": "Note",
    "Save": "Enregistrer",
    "No follow-up matches.": "Aucun suivi ne correspond.",
    "Open alerts": "Alertes ouvertes",
    "Past alerts": "Alertes passées",
    "open": "ouverte",
    "acknowledged": "prise en compte",
    "closed": "close",
    "Opened": "Ouverte",
    "Closed": "Close",
    "late answers": "réponses tardives",
    "Acknowledged by": "Prise en compte par",
    "Acknowledge": "Prendre en compte",
    "Comment (optional)": "Commentaire (facultatif)",
    "Close": "Clore",
    "No open alert.": "Aucune alerte ouverte.",
    "Rule": "Règle",
    "No past alert.": "Aucune alerte passée.",
    "Notifications not delivered": "Notifications non remises",
    "attempts": "tentatives",
    "Retry": "Réessayer",
    "Every notification was delivered.": "Toutes les notifications ont été remises.",
    "Shoppers' comments of this period": "Commentaires des clients sur la période",
    "{count} follow-up(s) left open over {hours} hours": "{count} suivi(s) ouvert(s) depuis plus de {hours} heures",
    "Question": "Question",
    "Matching answers": "Réponses concernées",
    "Answers": "Réponses",
    "Share": "Part",
    "Threshold": "Seuil",
    "Minimum answers": "Réponses minimum",
    "Window (minutes)": "Fenêtre (minutes)",
    "Follow-ups waiting": "Suivis en attente",
    "Open for at least (hours)": "Ouverts depuis au moins (heures)",
    "Oldest (hours)": "Le plus ancien (heures)",
    "Value": "Valeur",
    "Check": "Contrôle",
}


def translator(lang: str) -> Callable[[str], str]:
    if lang == "fr":
        return lambda text: FR.get(text, text)
    return lambda text: text


def from_header(accept_language: str) -> str:
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


@lru_cache(maxsize=65_536)
def format_decimal(value: float | int, format: str, locale: str) -> str:
    """Babel's `format_decimal`, remembered: an overview of 1,000 stores writes thousands of figures, mostly
    the same few hundred values, and Babel parses the pattern and the locale each time (about 30 us)."""
    return str(_pattern(format).apply(value, _locale(locale)))


@lru_cache(maxsize=64)
def _pattern(format: str) -> NumberPattern:
    return parse_pattern(format)


@lru_cache(maxsize=8)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


class Formatter:
    """Numbers the way the page's language writes them; None is shown as an en dash (no score)."""

    def __init__(self, lang: str) -> None:
        self.locale = LOCALES.get(lang, "en_GB")

    def number(self, value: float | int | None, digits: int = 1, signed: bool = False) -> str:
        if value is None:
            return "–"
        text = format_decimal(
            value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=self.locale
        )
        return ("+" + text) if signed and value > 0 else text.replace("-", "−")

    def count(self, value: int | None) -> str:
        return "–" if value is None else format_decimal(value, format="#,##0", locale=self.locale)

    def gigabytes(self, size_bytes: int | None) -> str:
        """A size in gigabytes with the unit as the language abbreviates it ("12.3 GB" / "12,3 Go")."""
        if size_bytes is None:
            return "–"
        return str(
            format_unit(
                size_bytes / 1e9, "digital-gigabyte", length="short", format="#,##0.0", locale=self.locale
            )
        )

    def percent(self, value: float | None, signed: bool = False) -> str:
        """A figure already in percent (75.0 -> "75.0%" / "75,0 %")."""
        if value is None:
            return "–"
        text = self.number(value, 1, signed)
        return f"{text}\u202f%" if self.locale.startswith("fr") else f"{text}%"

    def ago(self, stamp: str | None, now: dt.datetime) -> str:
        """ "3 hours ago" / "il y a 3 heures" for a stored UTC time; "never" / "jamais" without one."""
        if not stamp:
            return "never" if self.locale.startswith("en") else "jamais"
        delta = dt.datetime.fromisoformat(stamp) - now
        return format_timedelta(delta, add_direction=True, threshold=1.5, locale=self.locale)

    def day(self, value: dt.date | str) -> str:
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(day, format="medium", locale=self.locale)
