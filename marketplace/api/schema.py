"""OpenAPI extensions: the API key and device HMAC security schemes, and the device readings
endpoint (a plain Django view signed by devices) described in the schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse


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


ERROR_EXAMPLES = {
    400: ("validation_error", "The request has invalid fields.", {"quantity": ["Ensure this value is at least 1."]}),
    401: ("not_authenticated", "Authentication credentials were not provided.", {}),
    403: ("permission_denied", "You do not have permission to perform this action.", {}),
    404: ("not_found", "Not found.", {}),
    422: ("idempotency_key_reused", "This Idempotency-Key was already used with a different request.", {}),
    429: ("throttled", "Request was throttled. Expected available in 12 seconds.", {"retry_after": 12}),
}


def error_response(code: int) -> OpenApiResponse:
    """The documented error response for an HTTP status: the one error format, with an example."""
    from marketplace.api.serializers import ErrorSerializer

    error, message, details = ERROR_EXAMPLES[code]
    example = OpenApiExample(
        error, value={"error": {"code": error, "message": message, "details": details}}, response_only=True
    )
    return OpenApiResponse(response=ErrorSerializer, examples=[example])


class SpindleAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with what every API v1 operation shares:

    - ``{id}`` path parameters (``lookup_value_regex = r"\\d+"``) are integers, not patterned strings;
    - the error responses an operation can give, in the one error format, next to its documented
      successes: 400 (invalid body or filters), 404 (unknown object or cursor), and for operations that
      authenticate 401 (no or bad key), 403 (not allowed) and 429 (throttled); 422 where an
      ``Idempotency-Key`` may be sent (the key reused with another request).
    """

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"] == {"type": "string", "pattern": r"^\d+$"}:
                parameter["schema"] = {"type": "integer", "minimum": 0}
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if not self.path.startswith("/api/v1/"):
            return responses
        codes = [400, 404]
        if self.view.authentication_classes:
            codes += [401, 403, 429]
        if any(getattr(p, "name", None) == "Idempotency-Key" for p in self.get_override_parameters()):
            codes.append(422)
        for code in sorted(codes):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(error_response(code), str(code), direction=direction)
        return responses
