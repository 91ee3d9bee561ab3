"""The HTTP client of the kiosk: one requests.Session, explicit timeouts, gzip bodies.

It only moves bytes: every call returns an HttpReply or a TransportFailure, and sync.planner decides what
they mean. The session is injected so tests and benchmarks can swap or wrap the transport.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any

import requests

from kiosk import __version__
from sync.pairing import Pairing
from sync.planner import HttpReply, TransportFailure
from sync.protocol import CONFIG_PATH, FOLLOWUP_PATH, HEARTBEAT_PATH, UPLOAD_PATH, WHOAMI_PATH, UploadBody

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds: a hung server must not block the job forever


class CentralClient:
    def __init__(
        self,
        pairing: Pairing,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        gzip_level: int = 5,
    ) -> None:
        self.pairing = pairing
        self.session = session or requests.Session()
        self.timeout = timeout
        self.gzip_level = gzip_level
        self.session.headers.update(
            {
                "Authorization": f"Bearer {pairing.token}",
                "User-Agent": f"feedback-kiosk/{__version__}",
                "Accept-Encoding": "gzip",
            }
        )
        # Certificates are always verified; a private head office may bring its own CA bundle. It is also
        # given on every request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `session.verify`,
        # and many servers set them to the system bundle, which does not hold a private CA.
        self.verify: str | bool = pairing.ca_bundle or True
        self.session.verify = self.verify

    def close(self) -> None:
        self.session.close()

    def _url(self, path: str) -> str:
        return self.pairing.url + path

    def _send(self, method: str, path: str, **kwargs: Any) -> HttpReply | TransportFailure:
        try:
            # No redirects: a portal's 307 had the answers re-sent wherever it pointed. A 3xx is not the
            # API's answer, so the planner treats it as a failure (nothing marked).
            response = self.session.request(
                method,
                self._url(path),
                timeout=self.timeout,
                allow_redirects=False,
                verify=self.verify,
                **kwargs,
            )
            body = response.content
        except requests.Timeout:
            return TransportFailure(f"no answer from {self.pairing.url} within {self.timeout[1]:g} s")
        except requests.exceptions.SSLError as error:
            return TransportFailure(f"TLS failure with {self.pairing.url}: {_short(error)}")
        except requests.ConnectionError as error:
            return TransportFailure(f"cannot reach {self.pairing.url}: {_short(error)}")
        except requests.RequestException as error:
            return TransportFailure(f"request to {self.pairing.url} failed: {_short(error)}")
        headers = {k.lower(): v for k, v in response.headers.items()}
        return HttpReply(response.status_code, headers, body)

    def post_json(self, path: str, payload: Mapping[str, Any]) -> HttpReply | TransportFailure:
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        body = gzip.compress(raw, compresslevel=self.gzip_level, mtime=0)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self._send("POST", path, data=body, headers=headers)

    def upload(self, payload: UploadBody) -> HttpReply | TransportFailure:
        return self.post_json(UPLOAD_PATH, payload)

    def heartbeat(self, payload: dict[str, Any]) -> HttpReply | TransportFailure:
        return self.post_json(HEARTBEAT_PATH, payload)

    def whoami(self) -> HttpReply | TransportFailure:
        return self._send("GET", WHOAMI_PATH)

    def get_config(self, etag: str | None) -> HttpReply | TransportFailure:
        headers = {"If-None-Match": etag} if etag else {}
        return self._send("GET", CONFIG_PATH, headers=headers)

    def get_followup(self) -> HttpReply | TransportFailure:
        return self._send("GET", FOLLOWUP_PATH)


def _short(error: Exception) -> str:
    text = str(error)
    # urllib3's messages nest the whole retry story; the last reason is what a person needs.
    for marker in ("Caused by ", "NewConnectionError(", "ProtocolError("):
        if marker in text:
            text = text.split(marker)[-1]
    return text.strip("()'\" ")[:200]
