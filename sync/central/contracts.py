"""The protocol's typed contracts (sync.protocol's TypedDicts) as pydantic sees them: the request schemas
published in the OpenAPI and the reply models FastAPI validates and documents.

The routers read request bodies themselves (bounded, gzip-aware) and check each answer by hand, so that one
bad answer is rejected alone; the request schemas are generated here from the same types, never kept by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from sync.protocol import FIELD_FORMATS, HeartbeatBody, UploadBody


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its definition (the OpenAPI shows it in place)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        result = {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
        for name, prop in (result.get("properties") or {}).items():
            if isinstance(prop, dict):
                prop.update(FIELD_FORMATS.get(name, {}))
        return result
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    return schema


def request_schema(body: Any) -> dict[str, Any]:
    generated = TypeAdapter(body).json_schema()
    inlined: dict[str, Any] = _inline(generated, generated.get("$defs", {}))
    return inlined


UPLOAD_SCHEMA = request_schema(UploadBody)
HEARTBEAT_SCHEMA = request_schema(HeartbeatBody)
