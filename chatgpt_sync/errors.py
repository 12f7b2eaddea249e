"""Every exception chatgpt_sync raises, rooted in one base class.

::

    ChatGPTSyncError
     ├── InvalidRequestError (also ValueError)   bad input, raised before any network call
     │    └── UnknownParameterError (also TypeError)
     ├── MissingAuthError                          credentials needed and absent
     ├── APIStatusError                            a non-2xx answer
     │    ├── BadRequestError               400
     │    ├── AuthenticationError           401
     │    ├── PermissionDeniedError         403
     │    ├── NotFoundError                 404
     │    ├── UnprocessableEntityError      422
     │    ├── RateLimitError                429   (.retry_after)
     │    └── InternalServerError           >= 500
     ├── BlockedError                              anti-bot or abuse wall (HTML challenge page, "unusual activity")
     │    └── TurnstileRequiredError                the sentinel wants a turnstile token
     ├── APIConnectionError                        network failure, before or during a stream
     ├── APITimeoutError (also TimeoutError)       connect/read timeout, or a stream idle past its limit
     ├── ResponseError                             a 2xx answer that is unusable or carries an error in-band
     └── ProofOfWorkError                          the proof of work was not solved within its attempt limit

Every error raised after a stream has started carries ``partial_text`` (the answer text received so far)
and ``conversation`` (a :class:`chatgpt_sync.types.Conversation` or ``None``), so nothing is lost.
Attributes are plain values (ints, dicts, strings), never a library's response object.
Secrets never appear in messages: anything that looks like a key or token is redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ._redact import redact_headers, redact_text

if TYPE_CHECKING:
    from .types import Conversation

__all__ = [
    "ChatGPTSyncError",
    "InvalidRequestError",
    "UnknownParameterError",
    "MissingAuthError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "BlockedError",
    "TurnstileRequiredError",
    "APIConnectionError",
    "APITimeoutError",
    "ResponseError",
    "ProofOfWorkError",
    "status_error_class",
]


class ChatGPTSyncError(Exception):
    """Base class of every chatgpt_sync error."""

    partial_text: str = ""
    conversation: Conversation | None = None

    def __init__(self, message: str = "", *, partial_text: str = "",
                 conversation: Conversation | None = None) -> None:
        self.message = redact_text(message)
        super().__init__(self.message)
        self.partial_text = partial_text
        self.conversation = conversation


class InvalidRequestError(ChatGPTSyncError, ValueError):
    """The call's own arguments are wrong (malformed messages, bad settings). Nothing was sent."""


class UnknownParameterError(InvalidRequestError, TypeError):
    """A keyword argument the provider does not know. Raised instead of silently dropping it."""


class MissingAuthError(ChatGPTSyncError):
    """Credentials are needed and none were given; the message says which argument or env var."""


class APIStatusError(ChatGPTSyncError):
    """The server answered with a non-2xx status."""

    def __init__(self, message: str, *, status_code: int, headers: Mapping[str, str] | None = None,
                 body: Any = None, request_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code
        self.headers: dict[str, str] = redact_headers(headers or {})
        self.body = body
        self.request_id = request_id


class BadRequestError(APIStatusError):
    """400: the server rejected the request body."""


class AuthenticationError(APIStatusError):
    """401: the key or token is missing, wrong or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: wrong base URL, endpoint or model."""


class UnprocessableEntityError(APIStatusError):
    """422: the body parsed but a value is unacceptable."""


class RateLimitError(APIStatusError):
    """429 after the retries ran out. ``retry_after`` is the server's hint in seconds, or None."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """>= 500 after the retries ran out."""


class BlockedError(ChatGPTSyncError):
    """An anti-bot or abuse wall: a challenge page where JSON or SSE was expected, "unusual activity".

    ``kind`` is a short tag ("cloudflare", "html_page", "unusual_activity", "force_login",
    "turnstile", "arkose", "forbidden"); ``status_code`` is the HTTP status, when there was one.
    """

    def __init__(self, message: str, *, kind: str = "blocked", status_code: int | None = None,
                 body: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.kind = kind
        self.status_code = status_code
        self.body = body


class TurnstileRequiredError(BlockedError):
    """The sentinel demands a turnstile token and no ``turnstile_token=`` / ``turnstile_solver=`` was given."""

    def __init__(self, message: str, *, dx: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("kind", "turnstile")
        super().__init__(message, **kwargs)
        self.dx = dx


class APIConnectionError(ChatGPTSyncError):
    """The network failed: refused, reset, DNS, TLS, or a connection dropped mid-stream."""


class APITimeoutError(ChatGPTSyncError, TimeoutError):
    """Connect or read timed out, or a stream received nothing for its stream-idle limit."""


class ResponseError(ChatGPTSyncError):
    """A 2xx answer that cannot be used, or an error object sent inside the stream."""

    def __init__(self, message: str, *, body: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.body = body


class ProofOfWorkError(ChatGPTSyncError):
    """The sentinel proof of work was not solved within its attempt limit (no fake token is sent)."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The APIStatusError subclass for an HTTP status code."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)
