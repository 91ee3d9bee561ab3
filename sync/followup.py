"""The kiosk's side of follow-ups: its follow-up key from head office, and the URL of a visit's QR code.

Central makes a random secret per device and hands it over the device's authenticated API
(`GET /api/v1/device/followup`, fetched by the `sync-followup` job); the kiosk keeps it in `followup.json`
(mode 0600, beside `central.json`) with the pairing it came from, so a new pairing never signs with an old
key. `followup_url` then makes a visit's link offline: `<public URL>/r/<token>` (docs/sync-protocol.md).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from kiosk.domain.followup_token import DEFAULT_TTL, SECRET_MIN_BYTES, make_token
from sync.pairing import Pairing, PairingError, check_url, load_pairing, write_private_json

FOLLOWUP_FILE = "followup.json"


class FollowupReplyError(ValueError):
    """Head office's follow-up reply cannot be used; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class FollowupLink:
    """What a kiosk needs to make follow-up links offline."""

    base_url: str  # where phones open /r/<token>: head office's public URL, else the paired URL
    key_id: str
    secret: str  # url-safe base64, as received
    paired_url: str  # the pairing this key belongs to
    token_id: str
    ttl_s: int = int(DEFAULT_TTL.total_seconds())

    def secret_bytes(self) -> bytes:
        return base64.urlsafe_b64decode(self.secret + "=" * (-len(self.secret) % 4))


def _token_id(pairing: Pairing) -> str:
    return pairing.token.partition(".")[0]


def read_followup_reply(body: bytes, pairing: Pairing) -> FollowupLink:
    """The link settings in head office's reply, checked, or FollowupReplyError."""
    try:
        data = json.loads(body)
        key_id, secret = str(data["key_id"]), str(data["secret"])
        public_url = data.get("public_url")
        ttl_s = int(data.get("token_ttl_s", DEFAULT_TTL.total_seconds()))
    except (ValueError, KeyError, TypeError):
        raise FollowupReplyError("follow-up reply from head office is not the expected JSON") from None
    try:
        if len(bytes.fromhex(key_id)) != 4:
            raise ValueError
        raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    except (ValueError, binascii.Error):
        raise FollowupReplyError("follow-up reply from head office holds a malformed key") from None
    if len(raw) < SECRET_MIN_BYTES:
        raise FollowupReplyError("follow-up key from head office is too short")
    if not 60 <= ttl_s <= 48 * 3600:
        raise FollowupReplyError("follow-up token lifetime from head office is out of range")
    base = pairing.url
    if public_url is not None:
        try:
            # Phones open it, not the kiosk: plain http is the head office's own choice there.
            base = check_url(str(public_url), allow_http=True)
        except PairingError as error:
            raise FollowupReplyError(f"public URL from head office refused: {error}") from None
    return FollowupLink(base, key_id, secret, pairing.url, _token_id(pairing), ttl_s)


def save_followup_link(data_dir: Path, link: FollowupLink) -> None:
    write_private_json(data_dir / FOLLOWUP_FILE, asdict(link))


def load_followup_link(data_dir: Path) -> FollowupLink | None:
    """The kiosk's follow-up link settings, or None: not paired, not fetched yet, or fetched for another
    pairing (the job fetches the new one within minutes)."""
    try:
        pairing = load_pairing(data_dir)
        data = json.loads((data_dir / FOLLOWUP_FILE).read_text(encoding="utf-8"))
        link = FollowupLink(**data)
    except (PairingError, OSError, ValueError, TypeError):
        return None
    if link.paired_url != pairing.url or link.token_id != _token_id(pairing):
        return None
    return link


def followup_url(link: FollowupLink, session_id: str, language: str, now: dt.datetime) -> str:
    """The URL of a visit's QR code (`<base>/r/<token>`), valid `link.ttl_s` from `now`; made offline.
    ValueError when the visit id is not a UUID or the language not two lower-case letters."""
    token = make_token(
        link.secret_bytes(), link.key_id, session_id, language, now, dt.timedelta(seconds=link.ttl_s)
    )
    return f"{link.base_url}/r/{token}"
