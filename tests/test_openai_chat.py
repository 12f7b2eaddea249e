"""OpenaiChat (chatgpt.com with your own account) against the loopback OpenaiChatEmulator.

The emulator checks what the real backend checks (Bearer token, device id = oai-did cookie, the
conduit token of prepare, single-use sentinel tokens with a verified proof of work, parents,
image sizes against the uploaded bytes), so a completed answer already proves most of the flow;
these tests add what the client yields, what it sent, where its secrets went, and how it fails.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import stat
import struct
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

import chatgpt_sync
from chatgpt_sync import Timeout
from chatgpt_sync.errors import (
    APIConnectionError, AuthenticationError, BlockedError, InternalServerError, InvalidRequestError, MissingAuthError,
    RateLimitError, ResponseError, TurnstileRequiredError, UnknownParameterError,
)
from chatgpt_sync.providers._web.conversations import history_from
from chatgpt_sync.providers._web.files import image_size
from chatgpt_sync.providers.openai_chat import OpenaiChat
from chatgpt_sync.testing.openai_chat import (
    SESSION_COOKIE_NAME, OpenaiChatEmulator, image_info, png_bytes, synthesized_audio,
)
from chatgpt_sync.types import (
    AuthResult, Conversation, ConversationHistory, FinishReason, ImageResponse, Reasoning, ResponseMeta,
    Sources, TitleGeneration,
)

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = Timeout(connect=2, read=5, stream_idle=5)
HELLO = [{"role": "user", "content": "hello there"}]
CONVERSATION = "/backend-api/f/conversation"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own token or auth cache."""
    monkeypatch.delenv("CHATGPT_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def server() -> Iterator[OpenaiChatEmulator]:
    with OpenaiChatEmulator() as emulator:
        yield emulator


@pytest.fixture
def auth_file(tmp_path: Path) -> Path:
    return tmp_path / "auth" / "auth_OpenaiChat.json"


@pytest.fixture
def make(server: OpenaiChatEmulator, auth_file: Path, sleeps: Any) -> Iterator[Any]:
    made: list[OpenaiChat] = []

    def build(**settings: Any) -> OpenaiChat:
        settings.setdefault("auth_file", str(auth_file))
        provider = OpenaiChat(base_url=server.base_url, timeout=TIMEOUT, sleep=sleeps, **settings)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        provider.close()


@pytest.fixture
def chat(server: OpenaiChatEmulator, make: Any) -> OpenaiChat:
    provider: OpenaiChat = make(api_key=server.access_token())
    return provider


def text_of(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def objects(chunks: list[Any], kind: type) -> list[Any]:
    return [c for c in chunks if isinstance(c, kind)]


def bodies(server: OpenaiChatEmulator, path: str = CONVERSATION) -> list[Any]:
    return [r.json() for r in list(server.requests) if r.method == "POST" and r.path == path]


def reply(text: str, turn: int = 1) -> str:
    return f"You said: {text}. Turn {turn}."


# ------------------------------------------------------------------------------------ credentials

def test_access_token_answers_and_sends_the_bearer_token(server: OpenaiChatEmulator, make: Any) -> None:
    token = server.access_token()
    chunks = list(make(api_key=token).create_completion("auto", HELLO, stream=True))
    assert text_of(chunks) == reply("hello there")
    assert len([c for c in chunks if isinstance(c, str)]) > 1  # streamed in pieces
    assert [f.reason for f in objects(chunks, FinishReason)] == ["stop"]
    conversation = objects(chunks, Conversation)[0]
    assert conversation.conversation_id in server.conversations
    assert chunks.index(objects(chunks, FinishReason)[0]) > max(i for i, c in enumerate(chunks) if isinstance(c, str))
    request = [r for r in list(server.requests) if r.path == CONVERSATION][0]
    assert request.header("authorization") == f"Bearer {token}"
    assert request.header("x-conduit-token") and request.header("openai-sentinel-proof-token")
    assert server.counts["navigation"] == 1 and server.counts["prepare"] == 1 and server.counts["sentinel"] == 1


def test_stream_false_yields_the_same_kinds_with_one_text_piece(chat: OpenaiChat) -> None:
    chunks = list(chat.create_completion("auto", HELLO))
    assert [c for c in chunks if isinstance(c, str)] == [reply("hello there")]
    assert len(objects(chunks, FinishReason)) == 1 and len(objects(chunks, ResponseMeta)) == 1
    assert objects(chunks, TitleGeneration)


def test_cookies_are_exchanged_once_at_the_session_endpoint(server: OpenaiChatEmulator, make: Any) -> None:
    chat = make(cookies=server.cookies())
    for _ in range(2):
        assert text_of(list(chat.create_completion("auto", HELLO))) == reply("hello there")
    assert server.counts["session"] == 1
    issued = server.tokens_issued[0]
    assert all(r.header("authorization") == f"Bearer {issued}" for r in list(server.requests)
               if r.path.startswith("/backend-api"))


def test_a_netscape_cookie_export_with_httponly_lines(server: OpenaiChatEmulator, make: Any, tmp_path: Path) -> None:
    export = tmp_path / "cookies.txt"
    export.write_text("# Netscape HTTP Cookie File\n"
                      f"#HttpOnly_.chatgpt.com\tTRUE\t/\tTRUE\t0\t{SESSION_COOKIE_NAME}\t{server.session_cookie}\n"
                      ".example.org\tTRUE\t/\tFALSE\t0\tother\tvalue\n")
    assert text_of(list(make(cookies=str(export)).create_completion("auto", HELLO))) == reply("hello there")
    assert server.counts["session"] == 1
    assert all("other=value" not in (r.header("cookie") or "") for r in list(server.requests))


def test_a_har_file_recorded_on_chatgpt_com(server: OpenaiChatEmulator, make: Any, tmp_path: Path) -> None:
    token = server.access_token()
    entry = {"request": {"method": "GET", "url": "https://chatgpt.com/api/auth/session", "headers": [],
                         "cookies": [{"name": SESSION_COOKIE_NAME, "value": server.session_cookie}]},
             "response": {"status": 200, "cookies": [],
                          "content": {"mimeType": "application/json", "text": json.dumps({"accessToken": token})}}}
    har = tmp_path / "chatgpt.com.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    chat = make(har_file=str(har))
    assert text_of(list(chat.create_completion("auto", HELLO))) == reply("hello there")
    assert server.counts["session"] == 0  # the recorded token was good
    server.expire_tokens()  # ... until it was not: the HAR's cookies renew it
    assert text_of(list(chat.create_completion("auto", HELLO))) == reply("hello there")
    assert server.counts["session"] == 1


def test_the_environment_variable(server: OpenaiChatEmulator, make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = server.access_token()
    monkeypatch.setenv("CHATGPT_ACCESS_TOKEN", token)
    assert text_of(list(make().create_completion("auto", HELLO))) == reply("hello there")
    assert [r for r in list(server.requests) if r.path == CONVERSATION][0].header("authorization") == f"Bearer {token}"


def test_the_cache_file_is_written_0600_and_reused(server: OpenaiChatEmulator, make: Any, auth_file: Path) -> None:
    list(make(cookies=server.cookies()).create_completion("auto", HELLO))
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    assert server.tokens_issued[0] in auth_file.read_text()
    again = make()  # no credentials given: the cache file has them
    assert text_of(list(again.create_completion("auto", HELLO))) == reply("hello there")
    assert server.counts["session"] == 1


def test_the_default_cache_file_is_under_xdg_cache_home(server: OpenaiChatEmulator, tmp_path: Path,
                                                        sleeps: Any) -> None:
    with OpenaiChat(base_url=server.base_url, api_key=server.access_token(), timeout=TIMEOUT, sleep=sleeps) as chat:
        auth = chat.login()
    path = tmp_path / "xdg-cache" / "chatgpt_sync" / "auth_OpenaiChat.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and auth.access_token
    assert server.counts["backend-api"] == 0  # login() with a token needs no request


def test_no_credentials_names_every_option(make: Any) -> None:
    with pytest.raises(MissingAuthError) as info:
        make().create_completion("auto", HELLO)
    message = str(info.value)
    for option in ("api_key=", "cookies=", "har_file=", "CHATGPT_ACCESS_TOKEN", "auth_file=", "ChatGpt"):
        assert option in message


def test_an_expired_token_is_refused_before_any_request(server: OpenaiChatEmulator, make: Any) -> None:
    expired = server.access_token(exp=time.time() - 60)
    with pytest.raises(MissingAuthError, match="expired") as info:
        make(api_key=expired).create_completion("auto", HELLO)
    assert server.counts["backend-api"] == 0 and server.counts["navigation"] == 0
    assert expired not in str(info.value)


def test_a_refused_token_is_renewed_from_cookies_once(server: OpenaiChatEmulator, make: Any) -> None:
    chat = make(cookies=server.cookies())
    list(chat.create_completion("auto", HELLO))
    server.expire_tokens()
    assert text_of(list(chat.create_completion("auto", HELLO, stream=True))) == reply("hello there")
    assert server.counts["session"] == 2


def test_a_401_at_prepare_renews_from_cookies(auth_file: Path, sleeps: Any) -> None:
    with OpenaiChatEmulator() as fresh:
        fresh.faults.unauthorized_first = 1  # the very first /backend-api request: token_invalidated
        with OpenaiChat(base_url=fresh.base_url, cookies=fresh.cookies(), timeout=TIMEOUT, sleep=sleeps,
                        auth_file=str(auth_file)) as chat:
            assert text_of(list(chat.create_completion("auto", HELLO))) == reply("hello there")
        assert fresh.counts["session"] == 2 and fresh.counts["prepare"] == 2 and fresh.counts["conversation"] == 1


def test_account_methods_and_uploads_renew_too(server: OpenaiChatEmulator, make: Any) -> None:
    chat = make(cookies=server.cookies())
    assert chat.list_conversations() == []
    server.expire_tokens()
    assert chat.get_models()
    server.expire_tokens()
    assert "3x2 PNG" in text_of(list(chat.create_completion("auto", HELLO, media=[png_bytes(3, 2)])))
    assert server.counts["session"] == 3


def test_a_refused_token_without_cookies_is_an_authentication_error(server: OpenaiChatEmulator, make: Any) -> None:
    token = server.access_token()
    chat = make(api_key=token)
    list(chat.create_completion("auto", HELLO))
    server.expire_tokens()
    with pytest.raises(AuthenticationError) as info:
        list(chat.create_completion("auto", HELLO))
    assert info.value.status_code == 401 and "access token" in str(info.value)
    assert token not in str(info.value) and token not in repr(info.value.body)


def test_login_returns_and_caches_the_exchanged_token(server: OpenaiChatEmulator, make: Any, auth_file: Path) -> None:
    auth = make(cookies=server.cookies()).login()
    assert isinstance(auth, AuthResult) and auth.access_token == server.tokens_issued[0]
    assert auth.access_token not in repr(auth)
    assert json.loads(auth_file.read_text())["accounts"]
    # Browser login has its own tests (test_browser_login.py); a missing browser is refused up front.
    with pytest.raises(InvalidRequestError, match="browser_path"):
        make(cookies=server.cookies()).login(browser=True, browser_path="/nowhere/chromium")


def test_secrets_stay_out_of_reprs(server: OpenaiChatEmulator, make: Any) -> None:
    token = server.access_token()
    chat = make(api_key=token, cookies=server.cookies())
    list(chat.create_completion("auto", HELLO))
    shown = repr(chat) + repr(chat._state.accounts)
    assert token not in shown and server.session_cookie not in shown


def test_threads_share_one_exchange(server: OpenaiChatEmulator, make: Any) -> None:
    chat = make(cookies=server.cookies())
    results: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            results.append(text_of(list(chat.create_completion("auto", HELLO))))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [reply("hello there")] * 4
    assert server.counts["session"] == 1 and server.counts["navigation"] == 1


# -------------------------------------------------------------------------------- conversation

def test_continuing_sends_only_new_messages_under_the_last_answer(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    first = list(chat.create_completion("auto", HELLO))
    conversation = objects(first, Conversation)[0]
    history = [*HELLO, {"role": "assistant", "content": text_of(first)}, {"role": "user", "content": "and again"}]
    second = list(chat.create_completion("auto", history, conversation=conversation))
    assert text_of(second) == reply("and again", 2)
    body = bodies(server)[-1]
    assert body["parent_message_id"] == conversation.message_id
    assert body["conversation_id"] == conversation.conversation_id
    assert [m["content"]["parts"] for m in body["messages"]] == [["and again"]]
    assert objects(second, Conversation)[0].conversation_id == conversation.conversation_id


def test_temporary_chats_stay_out_of_the_history(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    chunks = list(chat.create_completion("auto", HELLO, temporary=True))
    assert text_of(chunks) == reply("hello there")
    assert bodies(server)[-1]["history_and_training_disabled"] is True
    assert bodies(server, "/backend-api/f/conversation/prepare")[-1]["history_and_training_disabled"] is True
    assert objects(chunks, Conversation)[0].conversation_id not in [c.id for c in chat.list_conversations()]


def test_web_search_gives_sources_and_markdown_citations(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    chunks = list(chat.create_completion("auto", [{"role": "user", "content": "python"}], stream=True,
                                         web_search=True))
    text = text_of(chunks)
    sources = objects(chunks, Sources)[0].sources
    assert "search" in bodies(server)[-1]["system_hints"]
    assert f"[1]({sources[0]['url']})" in text and f"[2]({sources[1]['url']})" in text
    assert not any("\ue200" <= ch <= "\ue2ff" for ch in text)
    assert all("utm_source" not in s["url"] for s in sources)


def test_thinking_comes_as_reasoning(chat: OpenaiChat) -> None:
    chunks = list(chat.create_completion("o3", HELLO, stream=True))
    reasoning = "".join(r.text for r in objects(chunks, Reasoning))
    assert reasoning and text_of(chunks) == reply("hello there")
    assert reasoning not in text_of(chunks)
    effort = list(chat.create_completion("auto", HELLO, reasoning_effort="high"))
    assert objects(effort, Reasoning)


def test_gizmo_conversation_mode(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    assert text_of(list(chat.create_completion("auto", HELLO, gizmo_id="g-emulator0001")))
    assert bodies(server)[-1]["conversation_mode"] == {"kind": "gizmo_interaction", "gizmo_id": "g-emulator0001"}


def _fetch(url: str) -> bytes:
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return bytes(response.read())


@pytest.mark.parametrize("model", ["gpt-image", "dall-e-3"])
def test_image_model_gives_download_urls_each_once(chat: OpenaiChat, server: OpenaiChatEmulator, model: str) -> None:
    chunks = list(chat.create_completion(model, [{"role": "user", "content": "a red fox"}], stream=True))
    images = objects(chunks, ImageResponse)
    assert len(images) == 1 and len(images[0].urls) == 1 and images[0].alt
    assert "picture_v2" in bodies(server)[-1]["system_hints"]
    assert _fetch(images[0].urls[0]).startswith(b"\x89PNG")
    assert server.counts["attachment"] + server.counts["download"] == 1


def test_client_images_generate_sends_the_prompt(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    from chatgpt_sync.client import Client

    result = Client(chat).images.generate(prompt="a lighthouse at dusk")
    assert len(result.data) == 1 and _fetch(str(result.data[0].url)).startswith(b"\x89PNG")
    message = bodies(server)[-1]["messages"][-1]
    assert message["content"]["parts"] == ["a lighthouse at dusk"]


def test_an_async_image_task_is_awaited_by_polling(chat: OpenaiChat, server: OpenaiChatEmulator, sleeps: Any) -> None:
    server.faults.async_image = True
    server.faults.async_image_polls = 2
    chunks = list(chat.create_completion("gpt-image", [{"role": "user", "content": "a red fox"}], stream=True))
    images = objects(chunks, ImageResponse)
    assert len(images) == 1 and _fetch(images[0].urls[0]).startswith(b"\x89PNG")
    assert server.counts["conversation_get"] == 3 and len(sleeps.calls) == 2
    assert chunks.index(images[0]) < chunks.index(objects(chunks, FinishReason)[0])


def test_an_async_image_task_that_never_ends_is_bounded(server: OpenaiChatEmulator, make: Any) -> None:
    server.faults.async_image = True
    server.faults.async_image_polls = 10_000
    chat = make(api_key=server.access_token(), image_timeout=6)
    with pytest.raises(ResponseError, match="image task") as info:
        list(chat.create_completion("gpt-image", [{"role": "user", "content": "a red fox"}]))
    assert info.value.partial_text and info.value.conversation is not None
    assert server.counts["conversation_get"] <= 4


def test_uploads_go_to_the_blob_store_without_credentials(server: OpenaiChatEmulator, make: Any,
                                                          tmp_path: Path) -> None:
    chat = make(cookies=server.cookies())
    picture = png_bytes(3, 2)
    path = tmp_path / "picture.png"
    path.write_bytes(picture)
    chunks = list(chat.create_completion("auto", HELLO, media=[str(path)]))
    assert text_of(chunks) == reply("hello there") + " I see 1 image(s): 3x2 PNG."
    upload = server.uploads[0]
    assert upload.data == picture
    assert server.blob_store.requests
    for request in server.blob_store.requests:
        assert request.header("authorization") is None and request.header("cookie") is None
    service = [r for r in list(server.requests) if r.path == "/backend-api/files"][0]
    assert server.session_cookie in (service.header("cookie") or "") and service.header("authorization")
    message = bodies(server)[-1]["messages"][-1]
    part = message["content"]["parts"][0]
    assert message["content"]["content_type"] == "multimodal_text"
    assert (part["width"], part["height"], part["asset_pointer"]) == (3, 2, f"file-service://{upload.file_id}")
    assert message["metadata"]["attachments"][0]["id"] == upload.file_id
    # The same bytes again (as an image_url data URL this time): no second upload.
    data_url = "data:image/png;base64," + base64.b64encode(picture).decode()
    again = [{"role": "user", "content": [{"type": "text", "text": "hello there"},
                                          {"type": "image_url", "image_url": {"url": data_url}}]}]
    assert "3x2 PNG" in text_of(list(chat.create_completion("auto", again)))
    assert server.counts["files"] == 1 and len(server.uploads) == 1


def test_a_document_becomes_an_attachment(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    chunks = list(chat.create_completion("auto", HELLO, media=[(b"%PDF-1.4 tiny", "notes.pdf")]))
    assert text_of(chunks).startswith(reply("hello there"))
    create = bodies(server, "/backend-api/files")[0]
    assert create == {"file_name": "notes.pdf", "file_size": 13, "use_case": "my_files"}
    message = bodies(server)[-1]["messages"][-1]
    assert message["content"]["content_type"] == "text"
    assert message["metadata"]["attachments"][0]["name"] == "notes.pdf"


def test_auto_continue_sends_real_continue_actions(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    server.faults.max_tokens = 2
    chunks = list(chat.create_completion("auto", HELLO, stream=True, auto_continue=True))
    assert text_of(chunks) == reply("hello there")
    assert [b["action"] for b in bodies(server)] == ["next", "continue", "continue"]
    assert [f.reason for f in objects(chunks, FinishReason)] == ["stop"]
    assert len(objects(chunks, Conversation)) == 1 and len(objects(chunks, ResponseMeta)) == 1
    cut = list(chat.create_completion("auto", HELLO))
    assert [f.reason for f in objects(cut, FinishReason)] == ["length"]


def test_a_broken_stream_keeps_what_arrived(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    server.faults.drop_after = 6
    received: list[str] = []
    with pytest.raises(APIConnectionError) as info:
        for piece in chat.create_completion("auto", HELLO, stream=True):
            if isinstance(piece, str):
                received.append(piece)
    assert info.value.partial_text == "".join(received)
    assert info.value.conversation is not None and info.value.conversation.conversation_id


# ------------------------------------------------------------------------------------- walls

def test_turnstile_needs_a_token_or_a_solver(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    server.faults.turnstile_required = True
    with pytest.raises(TurnstileRequiredError):
        list(chat.create_completion("auto", HELLO))
    assert server.counts["conversation"] == 0
    assert text_of(list(chat.create_completion("auto", HELLO, turnstile_token="turnstile-ok")))
    seen: list[str] = []

    def solver(dx: str, requirements: str) -> str:
        seen.append(requirements)
        return "turnstile-ok"

    assert text_of(list(chat.create_completion("auto", HELLO, turnstile_solver=solver)))
    assert seen and seen[0].startswith("gAAAAAC")


def test_rate_limit_is_a_rate_limit_error(server: OpenaiChatEmulator, make: Any, sleeps: Any) -> None:
    server.faults.rate_limit_first = 5
    with pytest.raises(RateLimitError) as info:
        list(make(api_key=server.access_token(), max_retries=1).create_completion("auto", HELLO))
    assert info.value.retry_after == 1.0 and not isinstance(info.value, MissingAuthError)
    assert sleeps.calls == [1.0]


def test_a_rate_limit_heals_on_retry_with_fresh_sentinel_tokens(server: OpenaiChatEmulator, make: Any) -> None:
    server.faults.rate_limit_first = 1
    assert text_of(list(make(api_key=server.access_token()).create_completion("auto", HELLO)))
    assert server.counts["sentinel"] == 2 and server.counts["prepare"] == 2


def test_walls_are_blocked_errors(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    server.faults.unusual_activity = True
    with pytest.raises(BlockedError) as info:
        list(chat.create_completion("auto", HELLO))
    assert info.value.kind == "unusual_activity"
    server.faults.unusual_activity = False
    server.faults.arkose_required = True
    with pytest.raises(BlockedError) as info:
        list(chat.create_completion("auto", HELLO))
    assert info.value.kind == "arkose"
    server.faults.arkose_required = False
    server.faults.html_block = True
    with pytest.raises(BlockedError) as info:
        list(chat.create_completion("auto", HELLO))
    assert info.value.kind == "cloudflare"
    assert server.counts["conversation"] == 0


def test_server_errors_are_retried_then_reported(server: OpenaiChatEmulator, make: Any) -> None:
    server.faults.conversation_status = 503
    server.faults.conversation_status_first = 2
    chat = make(api_key=server.access_token(), max_retries=1)
    with pytest.raises(InternalServerError):
        list(chat.create_completion("auto", HELLO))
    assert text_of(list(chat.create_completion("auto", HELLO))) == reply("hello there")


def test_bad_input_fails_before_any_request(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    with pytest.raises(InvalidRequestError):
        chat.create_completion("auto", HELLO, media=["/no/such/file.png"])
    with pytest.raises(UnknownParameterError):
        chat.create_completion("auto", HELLO, temperature=0.5)
    with pytest.raises(InvalidRequestError):
        chat.create_completion("auto", HELLO, turnstile_solver="not callable")
    assert server.counts["backend-api"] == 0 and server.counts["navigation"] == 0


# --------------------------------------------------------------------------- account methods

def test_list_get_rename_delete(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    first = objects(list(chat.create_completion("auto", HELLO)), Conversation)[0]
    listed = chat.list_conversations()
    assert [c.id for c in listed] == [first.conversation_id] and listed[0].title and listed[0].create_time
    history = chat.get_conversation(first.conversation_id)
    assert isinstance(history, ConversationHistory) and history.current_node == first.message_id
    visible = [(m.role, m.text) for m in history.messages if not m.hidden]
    assert visible == [("user", "hello there"), ("assistant", reply("hello there"))]  # the draft branch is off it
    assert [m.role for m in history.messages if m.hidden] == ["system"]
    chat.rename_conversation(first.conversation_id, "Renamed")
    assert chat.list_conversations()[0].title == "Renamed"
    body = [r.json() for r in list(server.requests) if r.method == "PATCH"]
    chat.delete_conversation(first.conversation_id)
    assert [r.json() for r in list(server.requests) if r.method == "PATCH"][len(body):] == [{"is_visible": False}]
    assert chat.list_conversations() == []


def test_synthesize_streams_the_audio(chat: OpenaiChat) -> None:
    conversation = objects(list(chat.create_completion("auto", HELLO)), Conversation)[0]
    audio = chat.synthesize(conversation.conversation_id, str(conversation.message_id))
    assert b"".join(audio) == synthesized_audio(reply("hello there"), "aac")
    mp3 = b"".join(chat.synthesize(conversation.conversation_id, str(conversation.message_id), format="mp3"))
    assert mp3 == synthesized_audio(reply("hello there"), "mp3")


def test_models_and_me(chat: OpenaiChat, server: OpenaiChatEmulator) -> None:
    models = chat.get_models()
    assert models[0] == "auto" and "gpt-4-1" in models and "gpt-image" in models
    me = chat.me()
    assert me["email"] == server.email and chat.get_quota() == me


# ---------------------------------------------------------------------------------- pure parts

def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def _webp(kind: bytes, width: int, height: int) -> bytes:
    if kind == b"VP8 ":
        body = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", width, height)
    elif kind == b"VP8L":
        body = b"\x2f" + ((width - 1) | ((height - 1) << 14)).to_bytes(4, "little")
    else:
        body = b"\x00" * 4 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = kind + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.mark.parametrize("data", [
    png_bytes(7, 5), b"GIF89a" + struct.pack("<HH", 640, 480) + b"\x00" * 8, _jpeg(1024, 768),
    _webp(b"VP8 ", 300, 200), _webp(b"VP8L", 301, 201), _webp(b"VP8X", 4000, 3000),
], ids=["png", "gif", "jpeg", "webp-lossy", "webp-lossless", "webp-extended"])
def test_image_dimensions_from_the_header(data: bytes) -> None:
    info = image_info(data)  # the emulator's file service reads them the same way
    assert info is not None and image_size(data) == (info.width, info.height)


def test_image_dimensions_of_non_images_and_truncated_headers() -> None:
    assert image_size(b"%PDF-1.4") is None and image_size(b"\x89PNG\r\n\x1a\n") is None
    assert image_size(b"\xff\xd8\xff\xe0\x00") is None


def test_history_walks_the_active_branch_only() -> None:
    def node(node_id: str, parent: str | None, role: str | None, text: str = "", **metadata: Any) -> dict[str, Any]:
        message = None if role is None else {
            "id": node_id, "author": {"role": role}, "content": {"content_type": "text", "parts": [text]},
            "metadata": metadata, "recipient": "all"}
        return {"id": node_id, "parent": parent, "message": message, "children": []}

    mapping = {n["id"]: n for n in [
        node("root", None, None), node("sys", "root", "system", is_visually_hidden_from_conversation=True),
        node("u1", "sys", "user", "question"), node("a-old", "u1", "assistant", "draft"),
        node("a-new", "u1", "assistant", "answer \ue200cite\ue202turn0search0\ue201"),
    ]}
    history = history_from("c1", {"title": "T", "current_node": "a-new", "mapping": mapping})
    assert [(m.id, m.hidden) for m in history.messages] == [("sys", True), ("u1", False), ("a-new", False)]
    assert history.messages[-1].text == "answer "


# ---------------------------------------------------------------------------------- the example

def test_the_example_runs_offline_against_the_emulator(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # Until the package root exports OpenaiChat (the registry), give the example the class directly.
    monkeypatch.setattr(chatgpt_sync, "OpenaiChat", OpenaiChat, raising=False)
    spec = importlib.util.spec_from_file_location("example_openai_chat", ROOT / "examples" / "openai_chat.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--demo"]) == 0
    out = capsys.readouterr().out
    assert reply("Name one planet of the solar system.") in out
    assert reply("And one of its moons?", 2) in out and "Your latest conversations:" in out
