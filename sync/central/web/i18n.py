"""French and English for the head-office pages and the phone page (`/r/<token>`): texts (English is the
key, French beside it) and numbers, percentages and dates formatted by Babel in the page's language
("75,0 %" in French)."""

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
    # The phone page (/r/<token>): sync.central.web.texts names these texts.
    "Tell us more": "Dites-nous en plus",
    "We are sorry your visit to {store} was not what you hoped for. Tell us what happened, or leave a way to reach you: it is up to you.": "Désolés que votre visite chez {store} n'ait pas été à la hauteur. Racontez-nous ce qui s'est passé, ou laissez-nous un moyen de vous recontacter : c'est vous qui choisissez.",
    "Your message": "Votre message",
    "{max} characters at most.": "{max} caractères au plus.",
    "Your name (optional)": "Votre nom (facultatif)",
    "E-mail or phone (optional)": "E-mail ou téléphone (facultatif)",
    "Only if you would like us to get back to you.": "Seulement si vous souhaitez que nous vous recontactions.",
    "I agree that {store} may contact me about this at the address or number above. My details are deleted after {days} days, or sooner if I ask.": "J'accepte que {store} me recontacte à ce sujet à l'adresse ou au numéro indiqué. Mes coordonnées sont effacées au bout de {days} jours, ou avant si je le demande.",
    "Send": "Envoyer",
    "No account, no tracking. Only the {store} team reads your message.": "Sans compte ni suivi. Seule l'équipe de {store} lit votre message.",
    "Thank you": "Merci",
    "We have received your message. Thank you for helping us do better.": "Nous avons bien reçu votre message. Merci de nous avoir aidés à faire mieux.",
    "We will get back to you soon.": "Nous vous recontacterons bientôt.",
    "Already received": "Déjà reçu",
    "We have already received a message for this visit. Thank you!": "Nous avons déjà reçu un message pour ce passage en caisse. Merci !",
    "Link expired": "Lien expiré",
    "This link is no longer valid: it works for a few hours after your visit. Thank you for thinking of us.": "Ce lien n'est plus valable : il l'est quelques heures après votre passage. Merci d'avoir pensé à nous.",
    "Link not valid": "Lien non valable",
    "This link is not valid. Please scan the code on the kiosk again.": "Ce lien n'est pas valable. Scannez à nouveau le code affiché sur la borne.",
    "Too many attempts": "Trop de tentatives",
    "Too many attempts from this connection. Please try again in a few minutes.": "Trop de tentatives depuis cette connexion. Réessayez dans quelques minutes.",
    "Please reload the form": "Formulaire à recharger",
    "This form cannot be sent as it is. Please open the link again and retry.": "Ce formulaire ne peut pas être envoyé tel quel. Rouvrez le lien et réessayez.",
    "Please check the form:": "Vérifiez le formulaire :",
    "Write a message or leave a way to reach you.": "Écrivez un message ou laissez un moyen de vous recontacter.",
    "The message is too long ({max} characters at most).": "Le message est trop long ({max} caractères au plus).",
    "The name is too long.": "Le nom est trop long.",
    "Give a valid e-mail address or phone number.": "Indiquez une adresse e-mail ou un numéro de téléphone valable.",
    "Tick the consent box so that we may contact you.": "Cochez la case d'accord pour que nous puissions vous recontacter.",
    "With your name, give an e-mail or phone number (or leave the name empty).": "Avec votre nom, indiquez un e-mail ou un téléphone (ou laissez le nom vide).",
    "This service takes no contact details for now: please leave a message only.": "Ce service ne prend pas de coordonnées pour l'instant : laissez seulement un message.",
    "What was sent is too large.": "Le message envoyé est trop volumineux.",
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
    "Pages of the table": "Pages du tableau",
    "Previous": "Précédente",
    "Next": "Suivante",
    "Page {n}": "Page {n}",
    "Stores {first}–{last} of {count}": "Magasins {first} à {last} sur {count}",
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
    "Add a store": "Ajouter un magasin",
    "Add a group": "Ajouter un groupe",
    "Groups": "Groupes",
    "Parent group": "Groupe parent",
    "Edit": "Modifier",
    "Identifier": "Identifiant",
    "Name": "Nom",
    "Targets": "Cibles",
    "Closed days": "Jours de fermeture",
    "Letters, digits, '-', '_' and '.', as in kiosk.toml; it cannot change later.": "Lettres, chiffres, « - », « _ » et « . », comme dans kiosk.toml ; il ne pourra plus changer.",
    "For example Europe/Paris, Europe/London, America/Montreal.": "Par exemple Europe/Paris, Europe/London, America/Montreal.",
    "For example 09:00-19:00, or 09:00-12:30, 14:00-19:00; empty when closed.": "Par exemple 09:00-19:00, ou 09:00-12:30, 14:00-19:00 ; vide si fermé.",
    "Days the store is closed (YYYY-MM-DD), separated by spaces.": "Jours où le magasin est fermé (AAAA-MM-JJ), séparés par des espaces.",
    "Empty: the group's target applies.": "Vide : la cible du groupe s'applique.",
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
    "Typed at the kiosk": "Saisi sur la borne",
    "Sent from a phone": "Envoyé depuis un téléphone",
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
    # -- the alert rules page (web/rules.py) and the digests of users
    "Alert rules": "Règles d'alerte",
    "New rule": "Nouvelle règle",
    "Edit the rule": "Modifier la règle",
    "Download as an alerts file": "Télécharger comme fichier d'alertes",
    "Rules come from this page and from kiosk-central set-alerts FILE. Loading a file replaces the rules of the previous file and keeps those made or edited here; kiosk-central alerts export prints them all as one file.": "Les règles viennent de cette page et de kiosk-central set-alerts FICHIER. Charger un fichier remplace les règles du fichier précédent et garde celles créées ou modifiées ici ; kiosk-central alerts export les écrit toutes dans un fichier.",
    "from the dashboard": "créée ici",
    "from a file": "d'un fichier",
    "This rule no longer passes the checks (a store or group removed?): edit it or delete it.": "Cette règle ne passe plus les contrôles (magasin ou groupe supprimé ?) : modifiez-la ou supprimez-la.",
    "Mute from": "Muette du",
    "to": "au",
    "Mute": "Rendre muette",
    "Delete": "Supprimer",
    "No alert rule.": "Aucune règle d'alerte.",
    "Nothing was saved:": "Rien n'a été enregistré :",
    "Kind": "Type",
    "Notify (one per line)": "Prévenir (un par ligne)",
    "Fewer than": "Moins de",
    "More than": "Plus de",
    "Below": "Sous",
    "Minutes": "Minutes",
    "Free disk (MB)": "Disque libre (Mo)",
    "Seconds": "Secondes",
    "Hours": "Heures",
    "Clear after (minutes)": "Fermée après (minutes)",
    "Muted days (one period per line)": "Jours muets (une période par ligne)",
    "The same checks as kiosk-central set-alerts FILE; an empty field takes the kind's default (docs/alerts.md).": "Les mêmes contrôles que kiosk-central set-alerts FICHIER ; un champ vide prend la valeur par défaut du type (docs/alerts.md).",
    "Rules": "Règles",
    "Other parameters": "Autres paramètres",
    "Digests": "Synthèses",
    "Daily and weekly": "Quotidienne et hebdomadaire",
    "Daily only": "Quotidienne seulement",
    "Weekly only": "Hebdomadaire seulement",
    "None": "Aucune",
    "My account": "Mon compte",
    "Digests by mail": "Synthèses par e-mail",
    "Saved.": "Enregistré.",
    "The daily digest comes after each store's day, the weekly one on Mondays, for the stores of your scope, in your language, to your e-mail address.": "La synthèse du jour arrive après la journée de chaque magasin, celle de la semaine le lundi, pour les magasins de votre périmètre, dans votre langue, à votre adresse e-mail.",
    "No e-mail address: ask an admin to add one.": "Pas d'adresse e-mail : demandez-en une à un administrateur.",
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
    # The configuration pages (sync/central/web/configs.py) and the fleet's configuration columns.
    "store": "magasin",
    "Version {n} pushed: its stores' kiosks pull it and apply it when idle.": "Version {n} envoyée : les bornes de ses magasins la récupèrent et l'appliquent dès qu'elles sont libres.",
    "Where it comes from": "D'où elle vient",
    "No configuration yet.": "Pas encore de configuration.",
    "Serves version": "Sert la version",
    "this store's own file.": "le fichier propre à ce magasin.",
    "the file of group": "le fichier du groupe",
    "Latest version": "Dernière version",
    "Precedence: a store's own file, else the file of its nearest group (its group, then the groups above it). A group's file has no [store] table: central writes each store's own id, name and time zone.": "Priorité : le fichier propre au magasin, sinon celui de son groupe le plus proche (son groupe, puis les groupes au-dessus). Le fichier d'un groupe n'a pas de table [store] : le siège écrit pour chaque magasin son identifiant, son nom et son fuseau horaire.",
    "Groups above": "Groupes au-dessus",
    "Stores of the group": "Magasins du groupe",
    "Version served": "Version servie",
    "Comes from": "Provenance",
    "this group": "ce groupe",
    "its own file": "son propre fichier",
    "a nearer group's file": "le fichier d'un groupe plus proche",
    "Rollout": "Déploiement",
    "Applied": "Appliquée",
    "Refused": "Refusée",
    "Waiting": "Pas encore appliquée",
    "No configuration": "Aucune configuration",
    "Version applied": "Version appliquée",
    "No device yet.": "Pas encore d'appareil.",
    "Push a new configuration": "Envoyer une nouvelle configuration",
    "Checked exactly like kiosk-central set-config: when a check fails nothing is stored.": "Vérifiée exactement comme par kiosk-central set-config : si une vérification échoue, rien n'est enregistré.",
    "The file was refused; nothing was stored:": "Le fichier a été refusé ; rien n'a été enregistré :",
    "Push": "Envoyer",
    "Current file": "Fichier actuel",
    "Changes from the version before": "Modifications depuis la version précédente",
    "first version": "première version",
    "no change": "aucune modification",
    "applied": "appliquée",
    "refused": "refusée",
    "waiting": "pas encore appliquée",
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
