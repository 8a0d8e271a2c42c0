"""The GeoServiceError hierarchy: every error the service raises on purpose, with its HTTP status."""

from __future__ import annotations

from typing import Any


class GeoServiceError(Exception):
    """Base of all expected errors; ``status`` is the HTTP status, ``code`` a stable name."""

    status = 500
    code = "ServerError"

    def __init__(self, message: Any, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)  # English: logs, the command line
        self.text = message if hasattr(message, "render") else None  # an i18n.Text, shown in the reader's language
        self.details = details or {}

    def describe(self, lang: str = "en") -> str:
        return self.text.render(lang) if self.text is not None else self.message

    def to_document(self, lang: str = "en") -> dict[str, Any]:
        """The one canonical JSON error shape (compatible with the OGC API exception schema)."""
        doc: dict[str, Any] = {"code": self.code, "description": self.describe(lang), "status": self.status}
        if self.details:
            doc["details"] = self.details
        return doc


class ConfigError(GeoServiceError):
    """A setting has an unusable value."""

    code = "ConfigError"


class CatalogueError(GeoServiceError):
    """The layer catalogue is missing, unreadable or breaks its schema."""

    code = "CatalogueError"


class LayerDataError(GeoServiceError):
    """A layer file is unreadable or breaks RFC 7946 or its catalogue entry."""

    code = "LayerDataError"


class InvalidParameterError(GeoServiceError):
    """A request or command argument has a value that cannot be used."""

    status = 400
    code = "InvalidParameterValue"


class NotFoundError(GeoServiceError):
    """Something asked for by id does not exist."""

    status = 404
    code = "NotFound"


class LayerNotFoundError(NotFoundError):
    """No layer of that id is in the catalogue."""

    code = "LayerNotFound"


class HTTPStatusError(GeoServiceError):
    """An HTTP error raised by the web framework (unknown route, wrong method…), in our shape."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class VersionConflictError(GeoServiceError):
    """A write based on a version of the layer that is no longer the current one."""

    status = 412
    code = "PreconditionFailed"


class PreconditionRequiredError(GeoServiceError):
    """A write to an existing layer that does not say which version it replaces."""

    status = 428
    code = "PreconditionRequired"


class AuthenticationError(GeoServiceError):
    """A write without the right token."""

    status = 401
    code = "Unauthorized"


class WritesDisabledError(GeoServiceError):
    """Writes are off because no token is configured."""

    status = 403
    code = "WritesDisabled"


class PayloadTooLargeError(GeoServiceError):
    """A request body or an uploaded file over a limit: refused whole, nothing read from it is kept."""

    status = 413
    code = "PayloadTooLarge"


class ForbiddenError(GeoServiceError):
    """A request the server refuses on principle (a cross-origin write, a token in the URL)."""

    status = 403
    code = "Forbidden"


class ServiceBusyError(GeoServiceError):
    """Every slot for expensive requests is taken, or a request ran out of its time budget."""

    status = 503
    code = "ServiceUnavailable"

    def __init__(self, message: str, *, retry_after_s: int = 10, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after_s = retry_after_s


class LayerUnavailableError(GeoServiceError):
    """A layer whose file is missing, unreadable or over the limits: it is reported, the others serve on."""

    status = 503
    code = "LayerUnavailable"


class StorageError(GeoServiceError):
    """The layers folder cannot take a write (disk full, read-only, no permission); nothing was changed."""

    status = 507
    code = "InsufficientStorage"
