"""JSON schemas of GeoReport v2 responses, written from the spec (wiki.open311.org/GeoReport_v2).

Required fields are those the spec marks as always present; nullable ones may be null.
"""

from __future__ import annotations

TEXT_OR_NULL = {"type": ["string", "null"]}

ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}

DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": {"type": "string"},
        "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["specification", "url", "changeset", "type", "formats"],
                "properties": {
                    "specification": {"type": "string"},
                    "url": {"type": "string"},
                    "changeset": {"type": "string"},
                    "type": {"enum": ["production", "test"]},
                    "formats": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

SERVICES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
        ],
        "properties": {
            "service_code": {"type": "string"},
            "service_name": {"type": "string"},
            "description": TEXT_OR_NULL,
            "metadata": {"type": "boolean"},
            "type": {"enum": ["realtime", "batch", "blackbox"]},
            "keywords": TEXT_OR_NULL,
            "group": TEXT_OR_NULL,
        },
    },
}  # fmt: skip

SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {"service_code": {"type": "string"}, "attributes": {"type": "array"}},
}

CREATED = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "anyOf": [{"required": ["service_request_id"]}, {"required": ["token"]}],
        "properties": {
            "service_request_id": {"type": "string"},
            "token": {"type": "string"},
            "service_notice": TEXT_OR_NULL,
            "account_id": TEXT_OR_NULL,
        },
    },
}

DATETIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
REQUESTS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "service_request_id", "status", "service_code", "requested_datetime", "lat", "long",
        ],
        "properties": {
            "service_request_id": {"type": "string"},
            "status": {"enum": ["open", "closed"]},
            "status_notes": TEXT_OR_NULL,
            "service_name": TEXT_OR_NULL,
            "service_code": {"type": "string"},
            "description": TEXT_OR_NULL,
            "agency_responsible": TEXT_OR_NULL,
            "service_notice": TEXT_OR_NULL,
            "requested_datetime": {"type": "string", "format": "date-time"},
            "updated_datetime": DATETIME_OR_NULL,
            "expected_datetime": DATETIME_OR_NULL,
            "address": TEXT_OR_NULL,
            "address_id": TEXT_OR_NULL,
            "zipcode": TEXT_OR_NULL,
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "long": {"type": "number", "minimum": -180, "maximum": 180},
            "media_url": TEXT_OR_NULL,
        },
        "additionalProperties": False,
    },
}  # fmt: skip
