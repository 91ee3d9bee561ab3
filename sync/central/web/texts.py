"""The phone page's texts: a short key for each (what phone.py and phone.html name) and its English text,
which is the message id of the head-office pages' translations (sync.central.web.i18n: the French beside
it, with every dashboard text). `texts(lang)` gives them in a language; a missing French text shows English.

The consent sentence is stored with each contact as shown, with `CONSENT_VERSION`
(`sync.central.followups`): change the sentence (in either language), change the version.
"""

from __future__ import annotations

from sync.central.web.i18n import LANGUAGES, translator

MESSAGES: dict[str, str] = {
    "title": "Tell us more",
    "intro": "We are sorry your visit to {store} was not what you hoped for. Tell us what happened, or leave a way to reach you: it is up to you.",
    "comment": "Your message",
    "comment_hint": "{max} characters at most.",
    "name": "Your name (optional)",
    "contact": "E-mail or phone (optional)",
    "contact_hint": "Only if you would like us to get back to you.",
    "consent": "I agree that {store} may contact me about this at the address or number above. My details are deleted after {days} days, or sooner if I ask.",
    "send": "Send",
    "privacy": "No account, no tracking. Only the {store} team reads your message.",
    "thanks_title": "Thank you",
    "thanks": "We have received your message. Thank you for helping us do better.",
    "thanks_contact": "We will get back to you soon.",
    "used_title": "Already received",
    "used": "We have already received a message for this visit. Thank you!",
    "expired_title": "Link expired",
    "expired": "This link is no longer valid: it works for a few hours after your visit. Thank you for thinking of us.",
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
}


def texts(lang: str) -> dict[str, str]:
    """Every text of the phone page in `lang` (English for a language the pages do not speak)."""
    translate = translator(lang)
    return {key: translate(message) for key, message in MESSAGES.items()}


def pick_language(accept_language: str | None) -> str:
    """French when the browser prefers it, else English (pages for links that name no language)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"
