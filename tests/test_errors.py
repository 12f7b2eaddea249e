"""Status and body → exception, HTML walls, the tree, and secrets kept out of messages."""

from __future__ import annotations

import json

import pytest

from chatgpt_sync import errors
from chatgpt_sync._core import error_from_response, looks_like_html
from chatgpt_sync._redact import redact_headers, redact_text

JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html; charset=utf-8"}
CLOUDFLARE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf-chl</body></html>"


def openai_error_json(message: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error"}}


def openai_error(message: str) -> bytes:
    return json.dumps(openai_error_json(message)).encode()


@pytest.mark.parametrize("status, headers, body, cls, in_message", [
    (400, JSON, openai_error("Unrecognized request argument supplied: foo"), errors.BadRequestError,
     "Unrecognized request argument supplied: foo"),
    (401, JSON, openai_error("Incorrect API key provided"), errors.AuthenticationError, "Incorrect API key"),
    (403, JSON, json.dumps({"detail": "Unusual activity"}).encode(), errors.PermissionDeniedError,
     "Unusual activity"),
    (404, JSON, openai_error("The model `x` does not exist"), errors.NotFoundError, "does not exist"),
    (422, JSON, json.dumps({"detail": [{"loc": ["body"], "msg": "field required"}]}).encode(),
     errors.UnprocessableEntityError, "field required"),
    (429, JSON, openai_error("Rate limit reached"), errors.RateLimitError, "Rate limit reached"),
    (500, JSON, openai_error("The server had an error"), errors.InternalServerError, "server had an error"),
    (503, {"content-type": "text/plain"}, b"overloaded", errors.InternalServerError, "overloaded"),
    (418, JSON, b"{}", errors.APIStatusError, "HTTP 418"),
    (502, HTML, b"<html><head><title>502 Bad Gateway</title></head></html>", errors.InternalServerError,
     "502 Bad Gateway"),
    (404, HTML, b"<html><head><title>Not Found</title></head></html>", errors.NotFoundError, "Not Found"),
    (403, HTML, CLOUDFLARE, errors.BlockedError, "Just a moment..."),
    (503, HTML, CLOUDFLARE, errors.BlockedError, "anti-bot challenge"),
    (401, HTML, b"<!doctype html><html><title>Log in</title></html>", errors.BlockedError, "Log in"),
])
def test_status_to_exception(status, headers, body, cls, in_message) -> None:
    exc = error_from_response(status, headers, body, where="the API")
    assert type(exc) is cls
    assert in_message in str(exc)
    assert "\n" not in str(exc)  # one line, never a traceback of JSON


def test_status_error_attributes_are_plain_values() -> None:
    exc = error_from_response(429, {**JSON, "retry-after": "7", "x-request-id": "req_1"},
                              openai_error("slow down"), where="api")
    assert isinstance(exc, errors.RateLimitError)
    assert exc.status_code == 429 and exc.retry_after == 7.0 and exc.request_id == "req_1"
    # openai-python's shape: body is the inner error object, message the server's words alone.
    assert exc.body == {"message": "slow down", "type": "invalid_request_error"}
    assert exc.message == "slow down" and "api returned HTTP 429" in str(exc)
    assert exc.type == "invalid_request_error" and exc.code is None and exc.param is None
    assert exc.response.status_code == 429 and exc.response.json() == openai_error_json("slow down")
    assert exc.response.headers["x-request-id"] == "req_1"
    assert isinstance(exc.headers, dict)


@pytest.mark.parametrize("status, cls", [(400, errors.BadRequestError), (409, errors.ConflictError),
                                         (422, errors.UnprocessableEntityError), (418, errors.APIStatusError)])
def test_openai_status_classes(status, cls) -> None:
    exc = error_from_response(status, JSON, openai_error("nope"), where="api")
    assert type(exc) is cls and isinstance(exc, errors.APIError) and isinstance(exc, errors.OpenAIError)


def test_timeouts_are_connection_errors_as_in_openai_python() -> None:
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)
    assert issubclass(errors.APITimeoutError, TimeoutError)
    assert errors.OpenAIError is errors.ChatGPTSyncError


def test_blocked_error_explains_what_to_do() -> None:
    exc = error_from_response(403, HTML, CLOUDFLARE, where="chatgpt.com")
    assert isinstance(exc, errors.BlockedError) and exc.kind == "cloudflare" and exc.status_code == 403
    assert "does not solve" in str(exc) and "access token" in str(exc)


def test_tree() -> None:
    for name in ["MissingAuthError", "APIStatusError", "BlockedError", "APIConnectionError", "APITimeoutError",
                 "ResponseError", "InvalidRequestError", "ProofOfWorkError"]:
        assert issubclass(getattr(errors, name), errors.ChatGPTSyncError)
    for name in ["AuthenticationError", "PermissionDeniedError", "NotFoundError", "RateLimitError",
                 "InternalServerError", "BadRequestError"]:
        assert issubclass(getattr(errors, name), errors.APIStatusError)
    assert issubclass(errors.TurnstileRequiredError, errors.BlockedError)
    assert issubclass(errors.APITimeoutError, TimeoutError)  # catching the builtin works too
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)  # as in openai-python
    assert issubclass(errors.InvalidRequestError, ValueError)
    exc = errors.ChatGPTSyncError("x")
    assert exc.partial_text == "" and exc.conversation is None


@pytest.mark.parametrize("secret", [
    "sk-proj-abcdefghijklmnop1234",
    "Bearer abc.def-ghi_jkl123",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
    "gAAAAABsentinelTokenValue0123456789abcdef",
])
def test_secrets_are_redacted_in_messages(secret: str) -> None:
    exc = errors.AuthenticationError(f"refused {secret} here", status_code=401)
    assert secret not in str(exc) and "[redacted]" in str(exc)
    assert secret not in redact_text(f"x={secret}")


def test_secret_headers_are_redacted() -> None:
    headers = {"Authorization": "Bearer sk-abc", "Set-Cookie": "session=abc", "X-Request-Id": "r1"}
    assert redact_headers(headers) == {"Authorization": "[redacted]", "Set-Cookie": "[redacted]",
                                       "X-Request-Id": "r1"}
    exc = errors.APIStatusError("x", status_code=500, headers=headers)
    assert "sk-abc" not in repr(exc.headers)


@pytest.mark.parametrize("content_type, body, html", [
    ("text/html", b"", True),
    ("application/json", b"  <!DOCTYPE html><html>", True),
    ("", b"<html><body>", True),
    ("application/json", b'{"a": "<html>"}', False),
    ("text/event-stream", b"data: x", False),
])
def test_looks_like_html(content_type: str, body: bytes, html: bool) -> None:
    assert looks_like_html(content_type, body) is html
