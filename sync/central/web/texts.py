"""The phone page's texts in French and English (a plain mapping until the dashboard's catalogs land).

The consent sentence is stored with each contact as shown, with `CONSENT_VERSION`
(`sync.central.followups`): change the sentence, change the version.
"""

from __future__ import annotations

LANGUAGES = ("fr", "en")

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Dites-nous en plus",
        "intro": "Désolés que votre visite chez {store} n'ait pas été à la hauteur. Racontez-nous ce qui s'est "
        "passé, ou laissez-nous un moyen de vous recontacter : c'est vous qui choisissez.",
        "comment": "Votre message",
        "comment_hint": "{max} caractères au plus.",
        "name": "Votre nom (facultatif)",
        "contact": "E-mail ou téléphone (facultatif)",
        "contact_hint": "Seulement si vous souhaitez que nous vous recontactions.",
        "consent": "J'accepte que {store} me recontacte à ce sujet à l'adresse ou au numéro indiqué. Mes "
        "coordonnées sont effacées au bout de {days} jours, ou avant si je le demande.",
        "send": "Envoyer",
        "privacy": "Sans compte ni suivi. Seule l'équipe de {store} lit votre message.",
        "thanks_title": "Merci",
        "thanks": "Nous avons bien reçu votre message. Merci de nous avoir aidés à faire mieux.",
        "thanks_contact": "Nous vous recontacterons bientôt.",
        "used_title": "Déjà reçu",
        "used": "Nous avons déjà reçu un message pour ce passage en caisse. Merci !",
        "expired_title": "Lien expiré",
        "expired": "Ce lien n'est plus valable : il l'est quelques heures après votre passage. Merci d'avoir "
        "pensé à nous.",
        "invalid_title": "Lien non valable",
        "invalid": "Ce lien n'est pas valable. Scannez à nouveau le code affiché sur la borne.",
        "limited_title": "Trop de tentatives",
        "limited": "Trop de tentatives depuis cette connexion. Réessayez dans quelques minutes.",
        "stale_title": "Formulaire à recharger",
        "stale": "Ce formulaire ne peut pas être envoyé tel quel. Rouvrez le lien et réessayez.",
        "form_error": "Vérifiez le formulaire :",
        "empty": "Écrivez un message ou laissez un moyen de vous recontacter.",
        "comment_too_long": "Le message est trop long ({max} caractères au plus).",
        "name_too_long": "Le nom est trop long.",
        "contact_invalid": "Indiquez une adresse e-mail ou un numéro de téléphone valable.",
        "consent_missing": "Cochez la case d'accord pour que nous puissions vous recontacter.",
        "name_without_contact": "Avec votre nom, indiquez un e-mail ou un téléphone (ou laissez le nom vide).",
        "contact_disabled": "Ce service ne prend pas de coordonnées pour l'instant : laissez seulement un "
        "message.",
        "too_large": "Le message envoyé est trop volumineux.",
    },
    "en": {
        "title": "Tell us more",
        "intro": "We are sorry your visit to {store} was not what you hoped for. Tell us what happened, or "
        "leave a way to reach you: it is up to you.",
        "comment": "Your message",
        "comment_hint": "{max} characters at most.",
        "name": "Your name (optional)",
        "contact": "E-mail or phone (optional)",
        "contact_hint": "Only if you would like us to get back to you.",
        "consent": "I agree that {store} may contact me about this at the address or number above. My "
        "details are deleted after {days} days, or sooner if I ask.",
        "send": "Send",
        "privacy": "No account, no tracking. Only the {store} team reads your message.",
        "thanks_title": "Thank you",
        "thanks": "We have received your message. Thank you for helping us do better.",
        "thanks_contact": "We will get back to you soon.",
        "used_title": "Already received",
        "used": "We have already received a message for this visit. Thank you!",
        "expired_title": "Link expired",
        "expired": "This link is no longer valid: it works for a few hours after your visit. Thank you for "
        "thinking of us.",
        "invalid_title": "Link not valid",
        "invalid": "This link is not valid. Please scan the code on the kiosk again.",
        "limited_title": "Too many attempts",
        "limited": "Too many attempts from this connection. Please try again in a few minutes.",
        "stale_title": "Please reload the form",
        "stale": "This form cannot be sent as it is. Please open the link again and retry.",
        "form_error": "Please check the form:",
        "empty": "Write a message or leave a way to reach you.",
        "comment_too_long": "The message is too long ({max} characters at most).",
        "name_too_long": "The name is too long.",
        "contact_invalid": "Give a valid e-mail address or phone number.",
        "consent_missing": "Tick the consent box so that we may contact you.",
        "name_without_contact": "With your name, give an e-mail or phone number (or leave the name empty).",
        "contact_disabled": "This service takes no contact details for now: please leave a message only.",
        "too_large": "What was sent is too large.",
    },
}


def pick_language(accept_language: str | None) -> str:
    """French when the browser prefers it, else English (pages for links that name no language)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"
