"""Transports: send a request, give back status, headers and a byte iterator; close; map library errors.

This is the only module that imports requests / urllib3 / tls_client / curl_cffi. Every exception
those libraries raise, around sending *and* around every read of a body, is translated here into
:mod:`chatgpt_sync.errors` and chained, so callers never need to import a third-party library to
catch our errors (DESIGN.md rule 3).

Three transports:

* ``RequestsTransport`` (default): streams with ``raw.read1`` (urllib3 >= 2.2), which hands over
  bytes as they arrive for chunked and unchunked bodies alike (``iter_lines`` corrupts SSE framing at
  chunk boundaries and ``iter_content`` holds unchunked bodies until EOF).
* ``TlsClientTransport`` (``tls-client``, installed with the package but imported only when this
  transport is chosen): browser TLS fingerprints; cannot stream, so the whole body
  arrives as one chunk and goes through the same decoder.
* ``CurlTransport`` (extra ``curl``): browser fingerprints *and* streaming.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import logging
import os
import ssl
import threading
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Protocol

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatch

from .errors import APIConnectionError, APITimeoutError, CertificateError, ChatGPTSyncError, InvalidRequestError
from .types import Timeout

if TYPE_CHECKING:
    from requests.models import PreparedRequest

__all__ = ["Response", "Transport", "RequestsTransport", "TlsClientTransport", "CurlTransport",
           "make_transport", "TRANSPORTS"]

log = logging.getLogger("chatgpt_sync")

READ_SIZE = 65536
DRAIN_LIMIT = 1 << 20  # bytes we are willing to read after [DONE] to give a connection back to the pool


class Response(Protocol):
    """What every transport returns. ``headers`` keys are lower-case."""

    status_code: int
    headers: dict[str, str]
    url: str
    cookies: dict[str, str]

    def iter_bytes(self) -> Iterator[bytes]:
        """The body as it arrives; raises APIConnectionError / APITimeoutError."""
        ...

    def read(self) -> bytes:
        """The whole remaining body."""
        ...

    def drain(self) -> None:
        """Read what is left (bounded) so the connection can be reused, then release it."""
        ...

    def close(self) -> None:
        """Release the connection (to the pool when the body was fully read). Idempotent."""
        ...


class Transport(Protocol):
    """Sends one request. Implementations are safe to share between threads."""

    def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
             timeout: Timeout, stream: bool = True) -> Response:
        """``stream`` False says the body will be read whole (a transport may then buffer it)."""
        ...

    def close(self) -> None:
        ...


# --------------------------------------------------------------------------------------- requests

CERTIFICATE_HINT = ("; pass verify='/path/to/ca.pem' to trust a private certificate authority "
                    "(it is not retried: another attempt meets the same certificate)")

# How the browser-fingerprint libraries word failures that no retry can heal. curl (curl_cffi):
# "curl: (60) SSL certificate OpenSSL verify result: unable to get local issuer certificate (20)",
# older builds "SSL certificate problem: ..."; Go's crypto/tls behind tls-client: "tls: failed to
# verify certificate: x509: certificate signed by unknown authority".
_CERTIFICATE_TEXT = ("certificate verify failed", "ssl certificate problem", "ssl certificate openssl verify",
                     "ssl peer certificate", "failed to verify certificate", "x509:")
_CURL_CERTIFICATE_CODES = frozenset({51, 60})  # CURLE_PEER_FAILED_VERIFICATION (51 before curl 7.62)
# curl: "(27) URL rejected: Bad IPv6 address", "(3) URL using bad/illegal format"; Go's net/url and
# net/http: 'failed to create request object: parse "http://h:port/": invalid port', "no Host in
# request URL", "invalid URL scheme: [ftp]".
_BAD_URL_TEXT = ("url rejected", "url using bad/illegal format", "unsupported protocol",
                 "failed to create request object", "no host in request url", "invalid url scheme",
                 ": invalid port")


def _wrapped(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps: causes, contexts, urllib3's ``reason``, requests' args."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend((item.__cause__, item.__context__, getattr(item, "reason", None), *item.args))


def _certificate_failure(exc: BaseException) -> bool:
    return any(isinstance(item, (ssl.SSLCertVerificationError, HostnameMismatch)) for item in _wrapped(exc))


def _unhealable_by_text(exc: BaseException, url: str) -> ChatGPTSyncError | None:
    """CertificateError / InvalidRequestError for a tls-client or curl_cffi failure, from its text."""
    text = str(exc)
    lowered = text.lower()
    if getattr(exc, "code", None) in _CURL_CERTIFICATE_CODES or any(m in lowered for m in _CERTIFICATE_TEXT):
        return CertificateError(f"the TLS certificate of {url} failed verification: {text}{CERTIFICATE_HINT}")
    if isinstance(exc, ValueError) or any(m in lowered for m in _BAD_URL_TEXT):
        return InvalidRequestError(f"invalid URL {url}: {text}")
    return None


def _map_requests_error(exc: BaseException, url: str | None = None) -> ChatGPTSyncError:
    """Translate a requests/urllib3 exception raised while sending (``url`` given) or reading."""
    if isinstance(exc, ChatGPTSyncError):
        return exc
    if _certificate_failure(exc):
        return CertificateError(f"the TLS certificate of the server failed verification: {exc}{CERTIFICATE_HINT}")
    if isinstance(exc, (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)):
        return APITimeoutError(f"timed out connecting: {exc}")
    if isinstance(exc, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
        return APITimeoutError(f"timed out waiting for the server: {exc}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, urllib3.exceptions.LocationParseError)):
        return InvalidRequestError(f"invalid URL: {exc}")
    if url is not None and isinstance(exc, ValueError) and not isinstance(exc, OSError):
        # Raised before anything was sent (urllib.parse on a malformed host, an invalid header
        # value): the request itself is wrong, and sending it again cannot help.
        return InvalidRequestError(f"could not send a request to {url}: {exc}")
    if isinstance(exc, requests.exceptions.SSLError):
        return APIConnectionError(f"TLS error: {exc}")
    return APIConnectionError(_connection_message(exc))


def _connection_message(exc: BaseException) -> str:
    """Say what failed in plain words: urllib3's text ("Max retries exceeded with url ...") talks
    about its own retries, which are off here, and buries the reason."""
    reason: Any = exc.args[0] if isinstance(exc, requests.exceptions.ConnectionError) and exc.args else exc
    pool: Any = getattr(reason, "pool", None)
    where = f" to {pool.host}:{pool.port}" if getattr(pool, "host", None) else ""
    cause = getattr(reason, "reason", None) or reason
    for incomplete in (cause, getattr(cause, "__context__", None), *getattr(cause, "args", ())):
        if isinstance(incomplete, http.client.IncompleteRead):
            return (f"the server closed the connection before the answer was complete "
                    f"({len(incomplete.partial)} bytes of the last part read)")
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        detail = str(cause).split("Failed to establish a new connection: ", 1)[-1]
        return f"could not connect{where}: {detail}"
    if isinstance(cause, urllib3.exceptions.ProtocolError) and "Connection aborted" in str(cause):
        return f"the connection{where} was closed by the server: {cause}"
    return f"connection error{where}: {cause}"


class _RequestsResponse:
    __slots__ = ("_response", "_raw", "status_code", "headers", "url", "_eof", "_closed", "_idle", "cookies")

    def __init__(self, response: requests.Response, idle: float | None) -> None:
        self._response = response
        self._raw: urllib3.HTTPResponse = response.raw
        self.status_code = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        self.url = response.url
        self.cookies = {cookie.name: cookie.value or "" for cookie in response.cookies}
        self._eof = False
        self._closed = False
        self._idle = idle

    def _set_idle_timeout(self) -> None:
        # The read timeout given to requests covers waiting for the headers; once they are in, a
        # stream may go quiet for at most `stream_idle` seconds. urllib3 keeps the socket on the
        # response's connection; this is best effort (a transport without one keeps the read timeout).
        conn = getattr(self._raw, "connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.settimeout(self._idle)
            except OSError:
                pass

    def _reader(self) -> Any:
        """The fastest safe ``read1``: http.client's own when the body needs no decoding.

        urllib3's ``read1`` wraps http.client's with error handling and a decoder, which costs more
        than the SSE decoding and JSON parsing of a small event together; for an identity-encoded
        body (what chat APIs stream) the bytes are the same, and we map the errors ourselves.
        """
        fp = getattr(self._raw, "_fp", None)
        encoding = self.headers.get("content-encoding", "identity").lower()
        if fp is not None and encoding in ("", "identity") and hasattr(fp, "read1"):
            return fp.read1
        return lambda size: self._raw.read1(size, decode_content=True)

    def iter_bytes(self) -> Iterator[bytes]:
        self._set_idle_timeout()
        read1 = self._reader()
        try:
            while True:
                chunk = read1(READ_SIZE)
                if not chunk:
                    self._eof = True
                    return
                yield chunk
        except ChatGPTSyncError:
            raise
        except Exception as exc:  # urllib3 / http.client / socket / ssl errors in the middle of a body
            if isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)) and self._idle:
                raise APITimeoutError(
                    f"the server sent nothing for {self._idle:g} s while the answer was streaming (the "
                    f"stream_idle timeout); pass a larger timeout= if this server is slow") from exc
            raise _map_requests_error(exc) from exc

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def drain(self) -> None:
        if not self._eof and not self._closed:
            remaining = DRAIN_LIMIT
            try:
                for chunk in self.iter_bytes():
                    remaining -= len(chunk)
                    if remaining <= 0:
                        break
            except ChatGPTSyncError:
                pass
        self.close()

    def _body_complete(self) -> bool:
        """Whether the whole body has been read, by http.client's own account of it.

        http.client's ``read1`` does not close the response when a Content-Length body runs out
        (only ``read`` does), and a ``Content-Length: 0`` body is never read at all. A response left
        open blocks its connection: the next request on it is sent, then fails with
        ``ResponseNotReady('Request-sent')`` and, when retried, reaches the server twice. So the
        response is closed here exactly as http.client closes it at the natural end of a body.
        """
        fp = getattr(self._raw, "_fp", None)
        if fp is None or not hasattr(fp, "isclosed"):
            return self._eof
        if not fp.isclosed() and not fp.chunked and fp.length == 0:
            fp.close()  # closes the file over the socket, not the socket: the connection stays
        return bool(fp.isclosed()) and not fp.will_close

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._body_complete():
            # Fully read: give the connection back to the pool for reuse. (requests'
            # Response.close() would close the socket, since it did not read the body itself.)
            self._raw.release_conn()
        else:
            self._response.close()  # unread or unreusable: the connection is closed, not pooled


class _SharedContextAdapter(HTTPAdapter):
    """An HTTPAdapter whose HTTPS connections share one SSLContext built once per transport.

    requests hands urllib3 a CA bundle path per connection, so each new connection loads the CA
    store again; one context per client keeps that cost out of the request path.
    """

    def __init__(self, ssl_context_factory: Any, **kwargs: Any) -> None:
        self._ssl_context_factory = ssl_context_factory
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(  # type: ignore[override]
            self, request: PreparedRequest, verify: Any, cert: Any = None,
    ) -> tuple[Any, Any]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params.get("scheme") == "https" and cert is None:
            return host_params, {"ssl_context": self._ssl_context_factory()}
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if cert is not None:
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]


class RequestsTransport:
    """The default transport: a pooled ``requests.Session`` streaming through ``raw.read1``."""

    name = "requests"

    def __init__(self, *, proxy: str | None = None, verify: bool | str = True, pool_size: int = 16) -> None:
        self.proxy = proxy
        self.verify = verify
        self._ssl_context: ssl.SSLContext | None = None
        self._ssl_lock = threading.Lock()
        self.session = requests.Session()
        # Stateless: cookies belong to the caller's session object (e.g. a web session), not to a
        # connection pool that several conversations share.
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # requests re-reads proxy variables and ~/.netrc on every request (~150 us, and a .netrc entry
        # would replace our Bearer header with Basic auth); proxies are resolved once per host instead.
        self.session.trust_env = False
        self._env_proxies: dict[str, dict[str, str]] = {}
        adapter = _SharedContextAdapter(self._get_ssl_context, pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._proxies = {"http": proxy, "https": proxy} if proxy else None

    def _proxies_for(self, url: str) -> dict[str, str] | None:
        if self._proxies is not None:
            return self._proxies
        origin = url[:url.find("/", url.find("//") + 2)] if url.count("/") >= 3 else url
        cached = self._env_proxies.get(origin)
        if cached is None:
            from requests.utils import get_environ_proxies
            cached = dict(get_environ_proxies(url))
            if len(self._env_proxies) < 256:
                self._env_proxies[origin] = cached
        return cached or None

    def _get_ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            with self._ssl_lock:
                if self._ssl_context is None:
                    if self.verify is False:
                        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store to load
                        context.check_hostname = False
                        context.verify_mode = ssl.CERT_NONE
                    else:
                        from requests.utils import DEFAULT_CA_BUNDLE_PATH
                        # requests' own precedence: an explicit path, then the env bundles, then certifi.
                        cafile = (self.verify if isinstance(self.verify, str) else
                                  os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                                  or DEFAULT_CA_BUNDLE_PATH)
                        context = ssl.create_default_context(cafile=cafile)
                    self._ssl_context = context
        return self._ssl_context

    def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
             timeout: Timeout, stream: bool = True) -> Response:
        try:
            response = self.session.request(
                method, url, headers=dict(headers), data=body, stream=True,
                timeout=(timeout.connect, timeout.read), proxies=self._proxies_for(url),
                verify=self.verify, allow_redirects=False,
            )
        except Exception as exc:
            raise _map_requests_error(exc, url) from exc
        return _RequestsResponse(response, timeout.stream_idle)

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"RequestsTransport(proxy={'set' if self.proxy else None})"


# ------------------------------------------------------------------------------------- buffered

class BufferedResponse:
    """A response whose body arrived whole (tls-client), fed to the decoder as one chunk."""

    def __init__(self, status_code: int, headers: Mapping[str, str], body: bytes, url: str,
                 cookies: Mapping[str, str] | None = None) -> None:
        self.status_code = status_code
        self.cookies = dict(cookies or {})
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.url = url
        self._body: bytes | None = body

    def iter_bytes(self) -> Iterator[bytes]:
        body, self._body = self._body, None
        if body:
            yield body

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def drain(self) -> None:
        self._body = None

    def close(self) -> None:
        self._body = None


class TlsClientTransport:
    """Browser TLS fingerprints through ``tls_client`` (an install requirement, imported lazily). Buffered."""

    name = "tls_client"

    def __init__(self, *, proxy: str | None = None, impersonate: str = "chrome_131",
                 verify: bool | str = True) -> None:
        try:
            import tls_client
        except ImportError as exc:  # a requirement of the package, so the install is broken or partial
            raise InvalidRequestError(
                "transport='tls_client' needs the tls-client package, which chatgpt-sync installs; it is "
                f"missing or broken ({exc}): pip install 'tls-client>=1.0' (or reinstall chatgpt-sync)") from exc
        self.proxy = proxy
        self.verify = verify
        profile: Any = impersonate
        self._session = tls_client.Session(client_identifier=profile, random_tls_extension_order=True)
        self._lock = threading.Lock()  # the Go-backed session is not documented as thread-safe

    def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
             timeout: Timeout, stream: bool = True) -> Response:
        seconds = max(t for t in (timeout.connect, timeout.read, timeout.stream_idle, 0) if t is not None) or None
        try:
            with self._lock:
                response = self._session.execute_request(
                    method, url, headers=dict(headers), data=body, timeout_seconds=seconds,
                    proxy=self.proxy, insecure_skip_verify=self.verify is False, allow_redirects=False,
                )
        except Exception as exc:
            text = str(exc)
            unhealable = _unhealable_by_text(exc, url)
            if unhealable is not None:
                raise unhealable from exc
            if "timeout" in text.lower() or "deadline" in text.lower():
                raise APITimeoutError(f"timed out: {text}") from exc
            raise APIConnectionError(f"connection error: {text}") from exc
        cookies = {c.name: c.value for c in getattr(response, "cookies", None) or []}
        raw_headers: Any = response.headers or {}
        return BufferedResponse(int(response.status_code or 0), {k: str(v) for k, v in raw_headers.items()},
                                bytes(response.content or b""), url, cookies)

    def close(self) -> None:
        close = getattr(self._session, "close", None)
        if close is not None:
            close()


# ---------------------------------------------------------------------------------------- curl

class _CurlResponse:
    def __init__(self, response: Any, streamed: bool = True) -> None:
        self._response = response
        self._streamed = streamed
        self.status_code = int(response.status_code)
        self.headers: dict[str, str] = {str(k).lower(): str(v) for k, v in response.headers.items()}
        self.url = str(response.url)
        self.cookies: dict[str, str] = {str(k): str(v) for k, v in response.cookies.items()}
        self._closed = False

    def iter_bytes(self) -> Iterator[bytes]:
        from curl_cffi.requests import exceptions as curl_errors
        if not self._streamed:
            content = bytes(self._response.content or b"")
            if content:
                yield content
            return
        try:
            for chunk in self._response.iter_content():
                if chunk:
                    yield bytes(chunk)
        except curl_errors.Timeout as exc:
            raise APITimeoutError(f"stream timed out: {exc}") from exc
        except Exception as exc:
            raise APIConnectionError(f"connection error during the stream: {exc}") from exc

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def drain(self) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._streamed:
                self._response.close()


class CurlTransport:
    """Browser fingerprints with streaming, through ``curl_cffi`` (extra ``curl``)."""

    name = "curl_cffi"

    def __init__(self, *, proxy: str | None = None, impersonate: str = "chrome",
                 verify: bool | str = True) -> None:
        try:
            from curl_cffi import requests as curl_requests
        except ImportError as exc:  # optional extra
            raise InvalidRequestError(
                "transport='curl_cffi' needs the curl extra: pip install 'chatgpt-sync[curl]'") from exc
        self.proxy = proxy
        self.verify = verify
        profile: Any = impersonate
        self._session: Any = curl_requests.Session(impersonate=profile)

    def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
             timeout: Timeout, stream: bool = True) -> Response:
        from curl_cffi.requests import exceptions as curl_errors
        # curl's read part is a low-speed limit (no byte for N seconds), i.e. an idle timeout.
        idle = timeout.stream_idle or timeout.read
        curl_timeout = (timeout.connect or 0, idle or 0) if (timeout.connect or idle) else None
        try:
            response = self._session.request(
                # curl_cffi duplicates its handle for streamed requests, which defeats keep-alive:
                # only event streams are streamed, so JSON calls reuse the pooled connection.
                method, url, headers=dict(headers), data=body, stream=stream, timeout=curl_timeout,
                proxy=self.proxy, verify=self.verify, allow_redirects=False,
            )
        except curl_errors.Timeout as exc:
            raise APITimeoutError(f"timed out: {exc}") from exc
        except Exception as exc:
            unhealable = _unhealable_by_text(exc, url)
            if unhealable is not None:
                raise unhealable from exc
            raise APIConnectionError(f"connection error: {exc}") from exc
        return _CurlResponse(response, stream)

    def close(self) -> None:
        self._session.close()


TRANSPORTS: dict[str, Any] = {"requests": RequestsTransport, "tls_client": TlsClientTransport, "curl_cffi": CurlTransport}


def make_transport(name: str, *, proxy: str | None = None, verify: bool | str = True,
                   impersonate: str | None = None) -> Transport:
    """Build a transport by name: "requests", "tls_client" or "curl_cffi"."""
    if name == "requests":
        return RequestsTransport(proxy=proxy, verify=verify)
    if name == "tls_client":
        return TlsClientTransport(proxy=proxy, verify=verify, impersonate=impersonate or "chrome_131")
    if name == "curl_cffi":
        return CurlTransport(proxy=proxy, verify=verify, impersonate=impersonate or "chrome")
    raise InvalidRequestError(f"unknown transport {name!r}; choose one of {', '.join(TRANSPORTS)}")
