"""The follow-up token: what a kiosk makes verifies at central; anything altered, foreign or late does not."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kiosk.domain.followup_token import (
    DEFAULT_TTL,
    TOKEN_CHARS,
    TokenError,
    make_token,
    read_key_id,
    verify_token,
)

secrets_ = st.binary(min_size=16, max_size=64)
key_ids = st.binary(min_size=4, max_size=4).map(bytes.hex)
sessions = st.uuids().map(str)
languages = st.sampled_from(["fr", "en", "de", "nl"])
# Whole seconds: the token carries its expiry to the second.
instants = st.integers(1_700_000_000, 3_000_000_000).map(lambda s: dt.datetime.fromtimestamp(s, dt.UTC))
ttls = st.integers(1, 48 * 3600).map(lambda s: dt.timedelta(seconds=s))


@given(secrets_, key_ids, sessions, languages, instants, ttls)
def test_a_made_token_verifies_and_names_its_visit(
    secret: bytes, key_id: str, session: str, language: str, now: dt.datetime, ttl: dt.timedelta
) -> None:
    token = make_token(secret, key_id, session, language, now, ttl)
    assert len(token) == TOKEN_CHARS == 52
    assert token.isascii() and all(c.isalnum() or c in "-_" for c in token)
    assert read_key_id(token) == key_id
    claims = verify_token(token, secret, now + ttl - dt.timedelta(seconds=1))
    assert (claims.key_id, claims.session_id, claims.language) == (key_id, session, language)
    assert claims.expires_at == now + ttl


@given(secrets_, key_ids, sessions, instants, st.data())
def test_any_altered_character_is_refused(
    secret: bytes, key_id: str, session: str, now: dt.datetime, data: st.DataObject
) -> None:
    token = make_token(secret, key_id, session, "fr", now)
    position = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[position]))
    altered = token[:position] + other + token[position + 1 :]
    with pytest.raises(TokenError):
        verify_token(altered, secret, now)


@given(secrets_, secrets_, key_ids, sessions, instants)
def test_another_devices_secret_is_refused(
    secret: bytes, other: bytes, key_id: str, session: str, now: dt.datetime
) -> None:
    assume(other != secret)
    token = make_token(secret, key_id, session, "en", now)
    with pytest.raises(TokenError) as refused:
        verify_token(token, other, now)
    assert refused.value.reason == "forged"


@given(secrets_, key_ids, sessions, instants, ttls, st.integers(0, 10**8))
def test_a_token_past_its_expiry_is_refused(
    secret: bytes, key_id: str, session: str, now: dt.datetime, ttl: dt.timedelta, late_s: int
) -> None:
    token = make_token(secret, key_id, session, "fr", now, ttl)
    with pytest.raises(TokenError) as refused:
        verify_token(token, secret, now + ttl + dt.timedelta(seconds=late_s))
    assert refused.value.reason == "expired"


@given(st.text(max_size=80))
def test_junk_is_malformed_never_a_crash(text: str) -> None:
    with pytest.raises(TokenError):
        verify_token(text, b"k" * 32, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_the_default_lifetime_is_two_hours() -> None:
    now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    token = make_token(b"s" * 32, "0a0b0c0d", str(uuid.uuid4()), "fr", now)
    assert dt.timedelta(hours=2) == DEFAULT_TTL
    verify_token(token, b"s" * 32, now + dt.timedelta(hours=1, minutes=59))
    with pytest.raises(TokenError):
        verify_token(token, b"s" * 32, now + dt.timedelta(hours=2))


@pytest.mark.parametrize(
    ("session", "language", "key_id"),
    [
        ("not-a-uuid", "fr", "0a0b0c0d"),
        (str(uuid.uuid4()), "FR", "0a0b0c0d"),
        (str(uuid.uuid4()), "fr", "0a0b"),
    ],
)
def test_bad_inputs_make_no_token(session: str, language: str, key_id: str) -> None:
    with pytest.raises(ValueError):
        make_token(b"s" * 32, key_id, session, language, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
