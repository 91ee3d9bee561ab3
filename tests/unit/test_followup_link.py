"""The kiosk's follow-up link: head office's reply checked, and a URL whose QR code stays coarse."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import segno

from kiosk.domain.followup_token import verify_token
from sync.followup import FollowupReplyError, followup_url, read_followup_reply
from sync.pairing import Pairing

PAIRING = Pairing("https://central.example.com", "0123456789abcdef.secret")
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
REPLY = {"protocol": 1, "key_id": "0a0b0c0d", "secret": "A" * 43, "public_url": None, "token_ttl_s": 7200}


def reply(**changes: object) -> bytes:
    return json.dumps({**REPLY, **changes}).encode()


def test_links_use_the_paired_url_unless_head_office_names_a_public_one() -> None:
    link = read_followup_reply(reply(), PAIRING)
    session = str(uuid.uuid4())
    url = followup_url(link, session, "fr", NOW)
    assert url.startswith("https://central.example.com/r/")
    claims = verify_token(url.rsplit("/", 1)[1], link.secret_bytes(), NOW)
    assert (claims.session_id, claims.language, claims.expires_at) == (
        session,
        "fr",
        NOW + dt.timedelta(hours=2),
    )
    public = read_followup_reply(reply(public_url="https://feedback.example.com/"), PAIRING)
    assert followup_url(public, session, "en", NOW).startswith("https://feedback.example.com/r/")


@pytest.mark.parametrize(
    "body",
    [
        b"<html>portal</html>",
        reply(key_id="zz"),
        reply(secret="short"),
        reply(public_url="ftp://example.com"),
        reply(public_url="https://example.com/?next=evil"),
        reply(token_ttl_s=10**9),
    ],
)
def test_a_bad_reply_is_refused(body: bytes) -> None:
    with pytest.raises(FollowupReplyError):
        read_followup_reply(body, PAIRING)


@pytest.mark.parametrize(
    ("base", "version"),
    [("https://central.example.com", 5), ("https://feedback.example-retail.co.uk", 6)],
)
def test_the_qr_code_of_a_link_is_coarse(base: str, version: int) -> None:
    """A 52-character token keeps a typical head office's link at QR version 5 (37x37 modules) with
    error correction M: large modules, readable from a metre on a kiosk screen."""
    link = read_followup_reply(reply(public_url=base), PAIRING)
    url = followup_url(link, str(uuid.uuid4()), "fr", NOW)
    assert len(url) == len(base) + 3 + 52
    assert segno.make(url, error="m", micro=False, boost_error=False).version <= version
