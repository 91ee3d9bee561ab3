"""`kiosk pair` proves a pairing against head office before keeping it: one "who am I" call.

It tells apart, in one line, the three things a person can get wrong: the URL (nothing answers, or not
kiosk-central's API), the certificate (TLS verification fails with the system's CAs or `--ca-bundle`) and
the token (refused, or it belongs to another store or device than this kiosk's).
"""

from __future__ import annotations

import json

from sync.client import CentralClient
from sync.pairing import Pairing, PairingError
from sync.planner import HttpReply

CHECK_TIMEOUT = (5.0, 15.0)


def check_pairing(
    pairing: Pairing, store_id: str, device_id: str, client: CentralClient | None = None
) -> None:
    """Return when head office accepts the token for this store and device; PairingError saying what is wrong."""
    own = client is None
    client = client or CentralClient(pairing, timeout=CHECK_TIMEOUT)
    try:
        reply = client.whoami()
    finally:
        if own:
            client.close()
    url = pairing.url
    if not isinstance(reply, HttpReply):
        if reply.message.startswith("TLS failure"):
            trusted = f"the CA bundle {pairing.ca_bundle}" if pairing.ca_bundle else "the system's CAs"
            hint = "" if pairing.ca_bundle else "; for a private CA give --ca-bundle FILE"
            raise PairingError(f"certificate: {url} is not trusted by {trusted} ({reply.message}){hint}")
        raise PairingError(f"URL: {reply.message}")
    if reply.status in (401, 403):
        raise PairingError(
            f"token: head office at {url} refused it (HTTP {reply.status}: mistyped, revoked or from "
            "another server); `kiosk-central add-device` gives a new one"
        )
    if 300 <= reply.status < 400:
        target = reply.headers.get("location", "?")
        raise PairingError(f"URL: {url} redirects to {target}; give the final https:// address")
    identity = _identity(reply)
    if identity is None:
        raise PairingError(
            f"URL: {url} is not kiosk-central's API (HTTP {reply.status} for /api/v1/device/whoami); "
            "check the address (no path after the host)"
        )
    if identity != (store_id, device_id):
        raise PairingError(
            f"token: it belongs to {identity[0]}/{identity[1]}, but this kiosk is {store_id}/{device_id} "
            "(kiosk.toml); use the token made for this device"
        )


def _identity(reply: HttpReply) -> tuple[str, str] | None:
    if reply.status != 200:
        return None
    try:
        data = json.loads(reply.body)
        return (str(data["store"]), str(data["device"]))
    except (ValueError, KeyError, TypeError):
        return None
