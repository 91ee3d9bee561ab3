"""The pairing of a kiosk with head office: central URL and device token in `central.json` (mode 0600).

`http://` is refused except to a loopback address unless the pairing explicitly allows it (a lab setup);
TLS certificates are always verified, with an optional custom CA bundle.
"""

from __future__ import annotations

import ipaddress
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

PAIRING_FILE = "central.json"


class PairingError(Exception):
    """The pairing is missing or unusable; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Pairing:
    url: str
    token: str
    ca_bundle: str | None = None
    allow_http: bool = False


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_http: bool = False) -> str:
    """The URL without a trailing slash, or PairingError saying why it cannot be used."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PairingError(f"{url!r} is not an http(s) URL (e.g. https://central.example.com)")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise PairingError(
            f"{url}: plain http:// would send the token in clear; use https:// "
            "(or --allow-http for a lab network)"
        )
    if parts.query or parts.fragment:
        raise PairingError(f"{url}: no query or fragment expected")
    return url.strip().rstrip("/")


def pairing_path(data_dir: Path) -> Path:
    return data_dir / PAIRING_FILE


def save_pairing(data_dir: Path, pairing: Pairing) -> Path:
    """Write the pairing atomically, readable by the owner only (it holds the token)."""
    check_url(pairing.url, pairing.allow_http)
    if not pairing.token.strip() or any(c.isspace() for c in pairing.token.strip()):
        raise PairingError("the token is empty or contains spaces")
    if pairing.ca_bundle is not None and not Path(pairing.ca_bundle).is_file():
        raise PairingError(f"{pairing.ca_bundle}: no such CA bundle file")
    path = pairing_path(data_dir)
    tmp = data_dir / f".{PAIRING_FILE}.{uuid.uuid4().hex}.tmp"
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(pairing), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_pairing(data_dir: Path) -> Pairing:
    path = pairing_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PairingError("not paired with head office: run `kiosk pair URL --token-stdin`") from None
    except (OSError, ValueError) as error:
        raise PairingError(
            f"{path}: unreadable pairing ({error}); run `kiosk pair URL --token-stdin` again"
        ) from None
    try:
        pairing = Pairing(
            url=str(data["url"]),
            token=str(data["token"]),
            ca_bundle=data.get("ca_bundle"),
            allow_http=bool(data.get("allow_http", False)),
        )
    except (KeyError, TypeError):
        raise PairingError(f"{path}: incomplete pairing; run `kiosk pair URL --token-stdin` again") from None
    check_url(pairing.url, pairing.allow_http)
    return pairing


ENROL_PATH = "/api/v1/device/enrol"


def exchange_code(
    url: str, store: str, device: str, code: str, ca_bundle: str | None = None, timeout: float = 15.0
) -> str:
    """The device token head office gives for a one-time enrolment code, or PairingError with its reason."""
    import requests

    try:
        reply = requests.post(
            url + ENROL_PATH,
            json={"store": store, "device": device, "code": code.strip()},
            timeout=(5.0, timeout),
            verify=ca_bundle or True,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise PairingError(f"cannot reach {url}: {type(error).__name__}") from None
    try:
        body = reply.json()
    except ValueError:
        body = None
    if reply.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("token"), str):
        detail = body.get("detail") if isinstance(body, dict) else None
        raise PairingError(f"head office refused the code: {detail or f'HTTP {reply.status_code}'}")
    return str(body["token"])


def write_private_json(path: Path, data: object) -> None:
    """Write JSON atomically (fsync, rename), readable by the owner only: files that hold secrets."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
