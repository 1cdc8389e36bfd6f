"""OpenAPI extensions: the API key and device HMAC security schemes, and the device readings
endpoint (a plain Django view signed by devices) described in the schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "marketplace.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "spk_<prefix>_<secret>",
            "description": "An organisation API key (created by owners under Organisation → API keys).",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "marketplace.api.auth.BrowsableSessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


DEVICE_HMAC = {
    "type": "apiKey",
    "in": "header",
    "name": "X-Spindle-Signature",
    "description": (
        "Devices sign each request: headers X-Spindle-Device (device id), X-Spindle-Timestamp (unix seconds, "
        "±300 s) and X-Spindle-Signature = hex HMAC-SHA256(device secret, '<timestamp>.<raw body>')."
    ),
}


def add_device_readings(result, generator, request, public):
    """Postprocessing hook: document POST /api/v1/devices/readings/ and the DeviceHmac scheme."""
    result.setdefault("components", {}).setdefault("securitySchemes", {})["DeviceHmac"] = DEVICE_HMAC
    result["paths"]["/api/v1/devices/readings/"] = {
        "post": {
            "operationId": "devices_readings_create",
            "summary": "Send meter readings (devices)",
            "description": "A batch of counter readings from a registered device, signed with its secret.",
            "tags": ["devices"],
            "security": [{"DeviceHmac": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "additionalProperties": True},
                        "examples": {
                            "Batch": {
                                "value": {
                                    "readings": [
                                        {
                                            "resource": 12,
                                            "at": "2026-03-02T08:00:00+08:00",
                                            "run_seconds": 3600,
                                            "parts": 60,
                                        }
                                    ]
                                }
                            }
                        },
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Accepted, duplicate and refused readings counted.",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "additionalProperties": True},
                            "examples": {"Summary": {"value": {"accepted": 1, "duplicates": 0, "refused": []}}},
                        }
                    },
                },
                "400": {"description": "Malformed batch."},
                "401": {"description": "Unknown device, revoked device or bad signature."},
                "403": {"description": "A reading names another provider's resource."},
                "429": {"description": "Too many requests (see Retry-After)."},
            },
        }
    }
    return result
