"""Domain errors as data: one ``ServiceError`` hierarchy, rendered per wire format."""

from __future__ import annotations

from typing import Any, ClassVar


class InputError(ValueError):
    """Bad input found by a model, without any HTTP: ``field`` names the property, ``reason`` says why.

    Models raise it (or a subclass such as a service's ``SeedError``); views turn it into the
    service's own :class:`ServiceError`, so the wire format stays the service's.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ServiceError(Exception):
    """A domain error with a stable ``code``, an HTTP ``status`` and a message template.

    Subclasses set the class attributes; instances fill the template from keyword
    arguments. ``field`` names the offending input where there is one, and ``headers``
    carries extra response headers (e.g. ``WWW-Authenticate``). Renderers (one per
    wire format) turn an instance into a response; no handler builds an error body.
    """

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    template: ClassVar[str] = "{message}"

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 headers: dict[str, str] | None = None, **params: Any) -> None:
        self.params = dict(params)
        self.field = field
        self.headers = dict(headers or {})
        if message is None:
            try:
                message = self.template.format(field=field, **params)
            except (KeyError, IndexError):
                message = self.template
        self.message = message
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data (for the journal and for JSON renderers)."""
        data: dict[str, Any] = {"code": self.code, "status": self.status, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        return data


class BadRequest(ServiceError):
    """Generic malformed input."""

    code = "bad_request"
    status = 400


class InvalidSeed(BadRequest):
    """Seed data for the admin door that cannot be loaded; ``field`` names the offending property."""

    code = "invalid_seed"
    template = "{field}: {reason}"


class Unauthorized(ServiceError):
    """Missing or wrong credentials."""

    code = "unauthorized"
    status = 401
    template = "Authorization has been denied for this request."


class Forbidden(ServiceError):
    """Authenticated but not allowed."""

    code = "forbidden"
    status = 403
    template = "Forbidden"


class NotFound(ServiceError):
    """No such resource or route."""

    code = "not_found"
    status = 404
    template = "Not found"


class MethodNotAllowed(ServiceError):
    """The route exists but not for this method."""

    code = "method_not_allowed"
    status = 405
    template = "The requested resource does not support http method '{method}'."


class Conflict(ServiceError):
    """A uniqueness or state conflict."""

    code = "conflict"
    status = 409


class PayloadTooLarge(ServiceError):
    """The request body exceeds the configured limit."""

    code = "payload_too_large"
    status = 413
    template = "Request body larger than {limit} bytes"


class RequestTimeout(ServiceError):
    """The client did not send its whole body within the deadline (a slow or stalled client)."""

    code = "request_timeout"
    status = 408
    template = "Request body not received within {seconds} seconds"


class UnsupportedMediaType(ServiceError):
    """The request's content type is not accepted by the endpoint."""

    code = "unsupported_media_type"
    status = 415
    template = "Content type '{content_type}' not supported"


class InternalError(ServiceError):
    """An unexpected fault inside a mock: rendered in the service's format, never a traceback."""

    code = "internal_error"
    status = 500
    template = "An unexpected error occurred ({ref})"
