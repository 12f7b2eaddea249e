"""Every exception chatgpt_sync raises, rooted in one base class.

::

    ChatGPTSyncError (alias OpenAIError)
     ├── InvalidRequestError (also ValueError)   bad input, raised before any network call
     │    └── UnknownParameterError (also TypeError)
     ├── MissingAuthError                          credentials needed and absent
     ├── APIError                                  about the server's answer or the network to it
     │    ├── APIStatusError                       a non-2xx answer (.status_code, .response, .request_id)
     │    │    ├── BadRequestError           400
     │    │    ├── AuthenticationError       401
     │    │    ├── PermissionDeniedError     403
     │    │    ├── NotFoundError             404
     │    │    ├── ConflictError             409
     │    │    ├── UnprocessableEntityError  422
     │    │    ├── RateLimitError            429   (.retry_after)
     │    │    └── InternalServerError       >= 500
     │    ├── BlockedError                         anti-bot or abuse wall (HTML challenge page, "unusual activity")
     │    │    └── TurnstileRequiredError          the sentinel wants a turnstile token
     │    ├── APIConnectionError                   network failure, before or during a stream
     │    │    ├── CertificateError                the server's TLS certificate failed verification (not retried)
     │    │    └── APITimeoutError (also TimeoutError)  connect/read timeout, or a stream idle past its limit
     │    └── ResponseError                        a 2xx answer that is unusable or carries an error in-band
     └── ProofOfWorkError                          the proof of work was not solved within its attempt limit

As in openai-python, every APIError has ``message``, ``body``, ``code``, ``type`` and ``param``.

Every error raised after a stream has started carries ``partial_text`` (the answer text received so far)
and ``conversation`` (a :class:`chatgpt_sync.types.Conversation` or ``None``), so nothing is lost.
Attributes are plain values (ints, dicts, strings), never a library's response object.
Secrets never appear in messages: anything that looks like a key or token is redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ._redact import redact_headers, redact_text, redact_value

if TYPE_CHECKING:
    from .types import Conversation

__all__ = [
    "ChatGPTSyncError",
    "OpenAIError",
    "APIError",
    "ErrorResponse",
    "ConflictError",
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
    "CertificateError",
    "APITimeoutError",
    "ResponseError",
    "ProofOfWorkError",
    "status_error_class",
]


class ChatGPTSyncError(Exception):
    """Base class of every chatgpt_sync error."""

    partial_text: str = ""
    conversation: Conversation | None = None
    #: What to do about it, in a sentence (shown in notebooks).
    _hint = ""

    def __init__(self, message: str = "", *, partial_text: str = "",
                 conversation: Conversation | None = None) -> None:
        self.message = redact_text(message)
        super().__init__(self.message)
        self.partial_text = partial_text
        self.conversation = conversation

    def _repr_html_(self) -> str:
        """In a notebook: what happened, what to do, and what arrived before it (secrets redacted)."""
        from ._html import html_escape

        facts = [f"HTTP {value}" if name == "status_code" else f"{name.replace('_', ' ')} {value}"
                 for name in ("status_code", "request_id", "kind", "retry_after")
                 if (value := getattr(self, name, None)) is not None]
        if self.conversation is not None and self.conversation.conversation_id:
            facts.append(f"conversation {self.conversation.conversation_id}")
        parts = [f"<strong>{html_escape(type(self).__name__)}</strong>"]
        if facts:
            parts.append(f" <small>{html_escape(redact_text(' · '.join(map(str, facts))))}</small>")
        parts.append(f'<div style="white-space:pre-wrap">{html_escape(redact_text(str(self)))}</div>')
        if self._hint:
            parts.append(f"<div><em>What to do:</em> {html_escape(self._hint)}</div>")
        if self.partial_text:
            parts.append(f"<details><summary>Text received before the error ({len(self.partial_text)} "
                         f'characters)</summary><div style="white-space:pre-wrap">'
                         f"{html_escape(redact_text(self.partial_text))}</div></details>")
        return f'<div style="border-left:4px solid #d33;padding:4px 8px">{"".join(parts)}</div>'


class InvalidRequestError(ChatGPTSyncError, ValueError):
    """The call's own arguments are wrong (malformed messages, bad settings). Nothing was sent."""

    _hint = "Fix the call's arguments; nothing was sent."


class UnknownParameterError(InvalidRequestError, TypeError):
    """A keyword argument the provider does not know. Raised instead of silently dropping it."""

    _hint = "Check the keyword's spelling against the provider's settings and parameters."


class MissingAuthError(ChatGPTSyncError):
    """Credentials are needed and none were given; the message says which argument or env var."""

    _hint = "Pass the credentials the message names (an argument or an environment variable)."


class APIError(ChatGPTSyncError):
    """Common base of the errors about what the server (or the network to it) did.

    openai-python's attributes, as plain values: ``message`` (the server's own words when it gave
    some), ``body`` (the error object it sent, or None), ``code``, ``type`` and ``param`` (read from
    that object when it has them).
    """

    body: Any = None
    code: Any = None
    type: Any = None
    param: Any = None


class ErrorResponse:
    """The HTTP answer an error came with (openai-python's ``e.response``), as plain values."""

    __slots__ = ("status_code", "headers", "text")

    def __init__(self, status_code: int, headers: Mapping[str, str], text: str) -> None:
        self.status_code = status_code
        self.headers = dict(headers)
        self.text = text

    def json(self) -> Any:
        import json
        return json.loads(self.text)

    def __repr__(self) -> str:
        return f"<ErrorResponse [{self.status_code}]>"


class APIStatusError(APIError):
    """The server answered with a non-2xx status.

    ``str(e)`` says where and what to do; ``e.message`` is the server's message alone. ``e.body`` is
    the inner error object when the server sent ``{"error": {...}}`` (as openai-python gives it).
    """

    def __init__(self, message: str, *, status_code: int, headers: Mapping[str, str] | None = None,
                 body: Any = None, request_id: str | None = None, detail: str | None = None,
                 response_text: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if detail:
            self.message = redact_text(detail)
        self.status_code = status_code
        self.headers: dict[str, str] = redact_headers(headers or {})
        inner = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else body
        self.body = redact_value(inner)
        if isinstance(self.body, dict):
            self.code = self.body.get("code")
            self.type = self.body.get("type")
            self.param = self.body.get("param")
        self.request_id = request_id
        text = response_text if response_text is not None else ("" if body is None else str(body))
        self.response = ErrorResponse(status_code, self.headers, redact_text(text))


class BadRequestError(APIStatusError):
    """400: the server rejected the request body."""

    _hint = "The server rejected the request body; its message says which part."


class AuthenticationError(APIStatusError):
    """401: the key or token is missing, wrong or expired."""

    _hint = "Check the API key or access token: it is missing, wrong or expired."


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but not allowed to do this."""

    _hint = "These credentials may not do this; check the account's access."


class NotFoundError(APIStatusError):
    """404: wrong base URL, endpoint or model."""

    _hint = "Check the base URL, the endpoint and the model name."


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the body parsed but a value is unacceptable."""


class RateLimitError(APIStatusError):
    """429 after the retries ran out. ``retry_after`` is the server's hint in seconds, or None."""

    _hint = "Wait (see retry_after) and try again, or send fewer requests."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """>= 500 after the retries ran out."""

    _hint = "The server failed; try again later."


class BlockedError(APIError):
    """An anti-bot or abuse wall: a challenge page where JSON or SSE was expected, "unusual activity".

    ``kind`` is a short tag ("cloudflare", "html_page", "unusual_activity", "force_login",
    "turnstile", "arkose", "forbidden"); ``status_code`` is the HTTP status, when there was one.
    """

    _hint = "Use an access token, a HAR or cookies file, or the API instead of the anonymous web backend."

    def __init__(self, message: str, *, kind: str = "blocked", status_code: int | None = None,
                 body: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.kind = kind
        self.status_code = status_code
        self.body = redact_value(body)


class TurnstileRequiredError(BlockedError):
    """The sentinel demands a turnstile token and no ``turnstile_token=`` / ``turnstile_solver=`` was given."""

    _hint = "Pass turnstile_token= or turnstile_solver=, or use an access token."

    def __init__(self, message: str, *, dx: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("kind", "turnstile")
        super().__init__(message, **kwargs)
        self.dx = dx


class APIConnectionError(APIError):
    """The network failed: refused, reset, DNS, TLS, or a connection dropped mid-stream."""

    _hint = "Check the network, the proxy and the base URL; any text received is in partial_text."


class CertificateError(APIConnectionError):
    """The server's TLS certificate failed verification (untrusted issuer, expired, wrong host name).

    Never retried: another attempt meets the same certificate. Pass ``verify="/path/to/ca.pem"`` to
    trust a private CA.
    """

    _hint = "Pass verify='/path/to/ca.pem' to trust a private CA."


class APITimeoutError(APIConnectionError, TimeoutError):
    """Connect or read timed out, or a stream received nothing for its stream-idle limit."""

    _hint = "Raise timeout= (connect, read, stream_idle) or try again."


class ResponseError(APIError):
    """A 2xx answer that cannot be used, or an error object sent inside the stream."""

    _hint = "The answer could not be used; the message says why. Trying again may help."

    def __init__(self, message: str, *, body: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.body = redact_value(body)
        if isinstance(self.body, dict):
            self.code, self.type, self.param = (self.body.get(k) for k in ("code", "type", "param"))


class ProofOfWorkError(ChatGPTSyncError):
    """The sentinel proof of work was not solved within its attempt limit (no fake token is sent)."""

    _hint = "Try again later: the sentinel asked for more work than the attempt limit allows."


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The APIStatusError subclass for an HTTP status code."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


#: openai-python's names for the common bases, so ``except openai.OpenAIError`` code ports as is.
OpenAIError = ChatGPTSyncError
