"""The file service's blob store: a *separate* loopback server standing in for Azure Blob Storage.

``POST /backend-api/files`` hands out an upload URL on this server (a SAS URL: the signature in the
query string is the only credential), the client PUTs the bytes there, and download URLs of files
point here too. Being another origin is the point: a test can check that the access token and the
chatgpt.com cookies never reach it (``store.requests``), as they must never reach a third-party host.
The store answers like Azure: ``201 Created`` for a put, XML ``<Error>`` bodies for refusals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import parse_qs, quote, urlsplit

from .._server import EmulatorHandler, EmulatorServer
from .auth import iso_time

__all__ = ["Blob", "BlobStore", "Upload"]

API_VERSION = "2020-04-08"


@dataclass(frozen=True)
class Blob:
    data: bytes
    content_type: str
    name: str


@dataclass(frozen=True)
class Upload:
    """One PUT the store accepted: the file id, the bytes, and the headers it came with."""

    file_id: str
    data: bytes
    headers: dict[str, str] = field(repr=False)


class _BlobHandler(EmulatorHandler):
    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see resources.disable_nagle
        except OSError:
            pass

    @property
    def store(self) -> BlobStore:
        return cast(BlobStore, self.server.emulator)

    def _error(self, status: int, code: str, message: str) -> None:
        body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}\n'
                f"RequestId:{os.urandom(8).hex()}\nTime:{iso_time(time.time())}</Message></Error>")
        self.send_bytes(status, body.encode(), "application/xml", {"x-ms-error-code": code})

    def _target(self, permission: str) -> str | None:
        """The file id this request may touch, or None after answering with a refusal."""
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if len(parts) != 2 or parts[0] != BlobStore.container:
            self._error(404, "ResourceNotFound", "The specified resource does not exist.")
            return None
        file_id = parts[1]
        if query.get("sp") != permission or not hmac.compare_digest(query.get("sig", ""),
                                                                     self.store.signature(file_id, permission)):
            self._error(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the "
                                                     "value of the signature is formed correctly.")
            return None
        if self.headers.get("Authorization"):
            # A SAS URL is its own credential; a bearer token here is a leaked chatgpt.com secret.
            self._error(403, "AuthenticationFailed", "Authorization header and SAS signature both present; "
                                                     "a SAS URL takes no Authorization header.")
            return None
        return file_id

    def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
        body = self.read_body()
        self.store.count("put")
        file_id = self._target("cw")
        if file_id is None:
            return
        expected = self.store.expected_size(file_id)
        blob_type = self.headers.get("x-ms-blob-type")
        if expected is None:
            self._error(404, "ResourceNotFound", "No upload was started for this blob.")
        elif blob_type is None:
            self._error(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not "
                                                      "specified: x-ms-blob-type.")
        elif blob_type != "BlockBlob":
            self._error(400, "InvalidHeaderValue", f"The value for header x-ms-blob-type is invalid: {blob_type!r} "
                                                   "(this upload takes BlockBlob).")
        elif len(body) != expected:
            self._error(400, "InvalidInput", f"The blob is {len(body)} bytes; the file was created with "
                                             f"file_size {expected}.")
        else:
            content_type = self.headers.get("Content-Type") or "application/octet-stream"
            self.store.put(file_id, body, content_type, dict(self.headers.items()))
            digest = base64.b64encode(hashlib.md5(body).digest()).decode()
            self.send_bytes(201, b"", "application/octet-stream", {
                "ETag": f'"0x{hashlib.sha1(body).hexdigest()[:15].upper()}"', "Content-MD5": digest,
                "x-ms-request-server-encrypted": "true", "x-ms-version": API_VERSION})

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.read_body()
        self.store.count("get")
        file_id = self._target("r")
        if file_id is None:
            return
        blob = self.store.blob(file_id)
        if blob is None:
            self._error(404, "BlobNotFound", "The specified blob does not exist.")
            return
        self.send_bytes(200, blob.data, blob.content_type, {
            "x-ms-blob-type": "BlockBlob", "Content-Disposition": f'attachment; filename="{blob.name}"'})


class BlobStore(EmulatorServer):
    """A loopback blob store (Azure-like) that only accepts SAS-signed URLs it handed out.

    It starts on first use (the first URL it hands out), so emulator runs without files cost one
    server less; ``stop()`` stops it for good.
    """

    handler_class = _BlobHandler
    container = "files"

    def __init__(self) -> None:
        super().__init__()
        self._secret = os.urandom(16)
        self._blobs: dict[str, Blob] = {}
        self._expected: dict[str, int] = {}
        self._names: dict[str, str] = {}
        self._mutex = threading.Lock()
        self._starting = threading.Lock()
        self._closed = False
        #: Every PUT the store accepted, in order.
        self.uploads: list[Upload] = []
        #: Requests by method ("put", "get"), refused ones included.
        self.counts: dict[str, int] = {"put": 0, "get": 0}

    @property
    def port(self) -> int:
        with self._starting:
            if self._server is None:
                if self._closed:
                    raise RuntimeError("the blob store was stopped with its emulator")
                self.start()
        return super().port

    def stop(self) -> None:
        with self._starting:
            self._closed = True
            super().stop()

    def clear_uploads(self) -> None:
        with self._mutex:
            self.uploads.clear()
            self.counts = dict.fromkeys(self.counts, 0)

    def count(self, kind: str) -> None:
        with self._mutex:
            self.counts[kind] = self.counts.get(kind, 0) + 1

    def signature(self, file_id: str, permission: str) -> str:
        digest = hmac.new(self._secret, f"{file_id}\n{permission}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _url(self, file_id: str, permission: str, extra: str = "") -> str:
        expiry = quote(iso_time(time.time() + 3600)[:19] + "Z", safe="")
        return (f"{self.origin}/{self.container}/{file_id}?se={expiry}&sp={permission}&sv={API_VERSION}&sr=b"
                f"{extra}&sig={self.signature(file_id, permission)}")

    def upload_url(self, file_id: str, size: int, name: str) -> str:
        """Expect ``size`` bytes for ``file_id`` (a file called ``name``); return the SAS URL to PUT them to."""
        with self._mutex:
            self._expected[file_id] = size
            self._names[file_id] = name
        return self._url(file_id, "cw")

    def expected_size(self, file_id: str) -> int | None:
        with self._mutex:
            return self._expected.get(file_id)

    def put(self, file_id: str, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        with self._mutex:
            self._blobs[file_id] = Blob(data, content_type, self._names.get(file_id, file_id))
            self.uploads.append(Upload(file_id, data, headers))

    def publish(self, file_id: str, data: bytes, content_type: str, name: str) -> None:
        """Store bytes the service made itself (generated images)."""
        with self._mutex:
            self._blobs[file_id] = Blob(data, content_type, name)

    def blob(self, file_id: str) -> Blob | None:
        with self._mutex:
            return self._blobs.get(file_id)

    def download_url(self, file_id: str, name: str) -> str:
        """A signed, read-only URL serving the blob's bytes."""
        return self._url(file_id, "r", "&rscd=" + quote(f'attachment; filename="{name}"', safe=""))
