"""Reading a request body safely: bounded as sent, gzip inflated with a bound, JSON with a bounded depth.

A gzip bomb (a few KiB inflating to gigabytes) is stopped at `max_inflated_bytes`: the inflater is asked
for at most that much output, whatever the input claims.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from fastapi import Request

from sync.central.service import CentralError
from sync.central.settings import Settings

MAX_DEPTH = 8


async def read_json_body(request: Request, settings: Settings) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise CentralError(413, f"body larger than {settings.max_body_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > settings.max_body_bytes:
            raise CentralError(413, f"body larger than {settings.max_body_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        raw = inflate(raw, settings.max_inflated_bytes)
    elif encoding != "identity":
        raise CentralError(415, f"unsupported Content-Encoding {encoding!r} (gzip or identity)")
    elif len(raw) > settings.max_inflated_bytes:
        raise CentralError(413, f"body larger than {settings.max_inflated_bytes} bytes")
    return parse_json(raw)


def inflate(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise CentralError(400, "body is not valid gzip") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise CentralError(413, f"body inflates beyond {limit} bytes")
    if not inflater.eof:
        raise CentralError(400, "truncated gzip body")
    return out


def parse_json(raw: bytes) -> Any:
    try:
        data = json.loads(raw)
    except RecursionError:
        raise CentralError(400, "JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise CentralError(400, "body is not JSON") from None
    if depth(data) > MAX_DEPTH:
        raise CentralError(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    return data


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth, giving up (returning limit + 1) as soon as the limit is passed."""
    if limit < 0:
        return 1
    if isinstance(value, dict):
        return 1 + max((depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        # Lists of answers are long but flat: checking each element is still linear in the body.
        return 1 + max((depth(v, limit - 1) for v in value), default=0)
    return 0
