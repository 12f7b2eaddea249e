"""The account's resources behind ``/backend-api``: user, models, files, history and read-aloud.

A mixin of the request handler (:mod:`.handler` routes to these methods after the common checks);
every method gets the parsed path parameters and the request body, and raises
:class:`~chatgpt_sync.testing.chatgpt_web.checks.Rejection` to refuse.
"""

from __future__ import annotations

import json
import re
import socket
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from ..chatgpt_web.checks import Rejection, _is_uuid
from .._server import EmulatorHandler
from ._state import ChatState
from .audio import AUDIO_FORMATS, VOICES, synthesized_audio
from .body import FILE_ID
from .models import models_payload

if TYPE_CHECKING:
    from .auth import Claims

__all__ = ["ResourceRoutes", "AUDIO_CHUNK", "disable_nagle"]

AUDIO_CHUNK = 1024
_SEDIMENT_OR_FILE = re.compile(rf"{FILE_ID.pattern}|file_[0-9a-f]{{32}}")


def disable_nagle(connection: socket.socket) -> None:
    """Send small writes at once: headers and body go out in separate writes, and with Nagle's
    algorithm on, the second waits for the client's delayed ACK (~40 ms per response)."""
    try:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Rejection(400, f"Request body must be a JSON object ({what}).")
    return data


class ResourceRoutes(EmulatorHandler):
    """Routes that read or change the account's data."""

    def setup(self) -> None:
        super().setup()
        disable_nagle(self.connection)

    @property
    def state(self) -> ChatState:
        return cast(ChatState, self.server.emulator)

    def _authed(self) -> tuple[str, Claims, str]:
        """(User-Agent, claims, device id) after the common checks; defined by the handler."""
        raise NotImplementedError

    def _query(self, allowed: set[str]) -> dict[str, str]:
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        unknown = sorted(set(query) - allowed)
        if unknown:
            raise Rejection(422, f"Unknown query parameters {unknown}; this route takes {sorted(allowed)}.")
        return {key: values[-1] for key, values in query.items()}

    # ---------------------------------------------------------------- account
    def route_me(self, body: bytes) -> None:
        _, claims, _ = self._authed()
        self.send_json(200, self.state.me(claims))

    def route_models(self, body: bytes) -> None:
        self._authed()
        self._query({"history_and_training_disabled", "iim"})
        self.send_json(200, models_payload())

    # ---------------------------------------------------------------- files
    def route_files(self, body: bytes) -> None:
        _, claims, _ = self._authed()
        data = _json_object(body, '{"file_name": ..., "file_size": ..., "use_case": ...}')
        self.send_json(200, self.state.create_file(claims, data.get("file_name"), data.get("file_size"),
                                                   data.get("use_case")))

    def route_uploaded(self, body: bytes, file_id: str) -> None:
        _, claims, _ = self._authed()
        _json_object(body, "{}")
        self.send_json(200, self.state.confirm_upload(claims, file_id))

    def route_download(self, body: bytes, file_id: str) -> None:
        _, claims, _ = self._authed()
        query = self._query({"conversation_id", "inline"})
        if not _SEDIMENT_OR_FILE.fullmatch(file_id):
            raise Rejection(404, f"File {file_id} not found.")
        self.send_json(200, self.state.file_download(claims, file_id, query.get("conversation_id")))

    def route_attachment(self, body: bytes, conversation_id: str, file_id: str) -> None:
        _, claims, _ = self._authed()
        self.send_json(200, self.state.attachment_download(claims, conversation_id, file_id))

    # ---------------------------------------------------------------- history
    def route_conversations(self, body: bytes) -> None:
        _, claims, _ = self._authed()
        query = self._query({"offset", "limit", "order", "is_archived", "is_starred"})
        numbers = {}
        for key, default, low, high in (("offset", 0, 0, 10**9), ("limit", 28, 1, 100)):
            raw = query.get(key, str(default))
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise Rejection(422, f"Query parameter {key} must be an integer in {low}..{high}, got {raw!r}.")
            numbers[key] = int(raw)
        if query.get("order", "updated") != "updated":
            raise Rejection(422, f"Query parameter order must be \"updated\", got {query['order']!r}.")
        self.send_json(200, self.state.list_conversations(claims, numbers["offset"], numbers["limit"]))

    def route_conversation_get(self, body: bytes, conversation_id: str) -> None:
        _, claims, _ = self._authed()
        if not _is_uuid(conversation_id):
            raise Rejection(404, f"Can't load conversation {conversation_id}: not a conversation id.")
        self.send_json(200, self.state.get_conversation(claims, conversation_id))

    def route_conversation_patch(self, body: bytes, conversation_id: str) -> None:
        _, claims, _ = self._authed()
        changes = _json_object(body, 'e.g. {"title": ...} or {"is_visible": false}')
        if not _is_uuid(conversation_id):
            raise Rejection(404, f"Can't load conversation {conversation_id}: not a conversation id.")
        self.state.patch_conversation(claims, conversation_id, changes)
        self.send_json(200, {"success": True})

    # ---------------------------------------------------------------- read aloud
    def route_synthesize(self, body: bytes) -> None:
        _, claims, _ = self._authed()
        query = self._query({"message_id", "conversation_id", "voice", "format"})
        for key in ("message_id", "conversation_id"):
            if not _is_uuid(query.get(key)):
                raise Rejection(422, f"Query parameter {key} is required (a uuid).")
        voice, audio_format = query.get("voice", "maple"), query.get("format", "aac")
        if voice not in VOICES:
            raise Rejection(422, f"Unknown voice {voice!r}; voices: {sorted(VOICES)}.")
        if audio_format not in AUDIO_FORMATS:
            raise Rejection(422, f"Unknown format {audio_format!r}; formats: {sorted(AUDIO_FORMATS)}.")
        text = self.state.speech_text(claims, query["conversation_id"], query["message_id"])
        audio = synthesized_audio(text, audio_format)
        self.start_chunked(200, AUDIO_FORMATS[audio_format])
        try:
            for start in range(0, len(audio), AUDIO_CHUNK):
                self.write_chunk(audio[start:start + AUDIO_CHUNK])
            self.end_chunked()
        except OSError:
            self.close_connection = True
