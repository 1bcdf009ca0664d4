"""Google's error model: google.rpc.Status codes and their HTTP mapping.

Codes and HTTP statuses follow google/rpc/code.proto and
https://cloud.google.com/apis/design/errors#handling_errors.
"""

RPC_CODES = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}

HTTP_STATUS = {
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}

# For faults injected by HTTP status: the canonical status each HTTP code stands for.
_STATUS_FOR_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class ApiError(Exception):
    """An API failure, rendered as `{"error": {"code", "message", "status"[, "details"]}}`.

    `field` (a request field path) adds a google.rpc.BadRequest field violation, as Google
    does for validation errors; `details` are other detail messages (JSON, with their `@type`).
    """

    def __init__(self, status, message, field=None, http_status=None, details=()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.http_status = http_status or HTTP_STATUS[status]
        self.details = list(details)

    @classmethod
    def for_http_status(cls, http_status, message):
        return cls(_STATUS_FOR_HTTP.get(http_status, "UNKNOWN"), message, http_status=http_status)

    def body(self):
        error = {
            "code": self.http_status,
            "message": self.message,
            "status": self.status,
        }
        details = list(self.details)
        if self.field is not None:
            violation = {"field": self.field, "description": self.message}
            details.insert(0, {"@type": _BAD_REQUEST_TYPE, "fieldViolations": [violation]})
        if details:
            error["details"] = details
        return {"error": error}


def invalid_argument(message, field=None):
    return ApiError("INVALID_ARGUMENT", message, field=field)


def failed_precondition(message):
    return ApiError("FAILED_PRECONDITION", message)


def not_found(message):
    return ApiError("NOT_FOUND", message)


def already_exists(message):
    return ApiError("ALREADY_EXISTS", message)


def aborted(message):
    return ApiError("ABORTED", message)
