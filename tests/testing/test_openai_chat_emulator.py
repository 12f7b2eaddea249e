"""The authenticated chatgpt.com emulator, driven with plain ``requests``, the package's own PoW
solver and its own stream decoder.

The emulator is only worth something if it refuses what the real backend refuses, so many tests
take a correct request and break exactly one thing.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import requests

from chatgpt_sync._sse import SSEDecoder
from chatgpt_sync.errors import ResponseError
from chatgpt_sync.testing import verify_answer_token
from chatgpt_sync.providers._web.pow import get_answer_token, get_config, get_requirements_token
from chatgpt_sync.providers._web.stream import WebStreamDecoder
from chatgpt_sync.types import Conversation, FinishReason, ImageResponse, Reasoning, Sources, TitleGeneration
from chatgpt_sync.testing.openai_chat import (ASYNC_IMAGE_TEXT, SESSION_COOKIE_NAME, OpenaiChatEmulator,
                                              image_info, make_access_token, png_bytes, synthesized_audio,
                                              thought_texts, user_id_for)

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PREPARE = "/backend-api/f/conversation/prepare"
SENTINEL = "/backend-api/sentinel/chat-requirements"
CONVERSATION = "/backend-api/f/conversation"
TIMEOUT = (5, 10)


# ------------------------------------------------------------------------------ decoding
@dataclass
class Answer:
    response: requests.Response
    chunks: list[Any] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c for c in self.chunks if isinstance(c, str))

    @property
    def reasoning(self) -> list[str]:
        return [c.text for c in self.chunks if isinstance(c, Reasoning)]

    def of(self, kind: type) -> list[Any]:
        return [c for c in self.chunks if isinstance(c, kind)]

    @property
    def finish(self) -> str | None:
        return self.of(FinishReason)[-1].reason  # type: ignore[no-any-return]

    @property
    def conversation(self) -> Conversation:
        return self.of(Conversation)[-1]  # type: ignore[no-any-return]

    def typed(self) -> list[str]:
        kinds = []
        for _, data in self.events:
            try:
                obj = json.loads(data)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("type"), str):
                kinds.append(obj["type"])
        return kinds


def decode(response: requests.Response) -> Answer:
    """The stream through the package's SSE decoder and web stream decoder."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    answer = Answer(response)
    sse, decoder = SSEDecoder(), WebStreamDecoder()
    for event in sse.feed(response.content) + sse.flush():
        answer.events.append((event.event, event.data))
        answer.chunks += decoder.feed(event.data, event.event)
    answer.chunks += decoder.finish()
    return answer


# ------------------------------------------------------------------------------ a small client
def message(text: str, role: str = "user", **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "author": {"role": role},
            "content": {"content_type": "text", "parts": [text]},
            "metadata": {"serialization_metadata": {"custom_symbol_offsets": []}},
            "create_time": round(time.time(), 3), **extra}


def routing(*, action: str = "next", model: str = "auto", parent: str | None = None,
            conversation_id: str | None = None, hints: tuple[str, ...] = (), temporary: bool = False,
            gizmo_id: str | None = None) -> dict[str, Any]:
    """The fields prepare and conversation share (protocols.md §1.2.6)."""
    body: dict[str, Any] = {
        "action": action, "parent_message_id": parent or "client-created-root", "model": model,
        "timezone_offset_min": -120, "timezone": "Europe/Berlin",
        "conversation_mode": {"kind": "gizmo_interaction", "gizmo_id": gizmo_id} if gizmo_id
        else {"kind": "primary_assistant"},
        "system_hints": list(hints), "supports_buffering": True, "supported_encodings": ["v1"],
    }
    if temporary:
        body["history_and_training_disabled"] = True
    if conversation_id:
        body["conversation_id"] = conversation_id
    return body


class Client:
    """The authenticated flow step by step; each step overridable so a test can break one thing."""

    def __init__(self, server: OpenaiChatEmulator, token: str | None = None, user_agent: str = UA) -> None:
        self.server = server
        self.base = server.base_url
        self.token = token or server.access_token()
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": user_agent, "sec-ch-ua-platform": '"Windows"'})
        self.config = get_config(user_agent)

    @property
    def device(self) -> str:
        return str(self.session.cookies.get("oai-did"))

    def navigate(self) -> requests.Response:
        return self.session.get(self.base + "/", timeout=TIMEOUT)

    def auth(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "oai-device-id": self.device, **(extra or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, headers=self.auth(headers), timeout=TIMEOUT, **kwargs)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        return self.session.post(self.base + path, json=body, headers=self.auth(headers), timeout=TIMEOUT, **kwargs)

    def patch(self, path: str, body: Any) -> requests.Response:
        return self.session.patch(self.base + path, json=body, headers=self.auth(), timeout=TIMEOUT)

    def prepare(self, **fields: Any) -> str:
        response = self.post(PREPARE, {**routing(**fields), "fork_from_shared_post": False})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok"
        return str(response.json()["conduit_token"])

    def requirements(self) -> dict[str, Any]:
        response = self.post(SENTINEL, {"p": get_requirements_token(self.config)})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def chat_headers(self, req: dict[str, Any], conduit: str | None) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json",
                   "openai-sentinel-chat-requirements-token": req["token"]}
        if conduit is not None:
            headers["x-conduit-token"] = conduit
        pow_ = req["proofofwork"]
        if pow_["required"]:
            headers["openai-sentinel-proof-token"] = get_answer_token(pow_["seed"], pow_["difficulty"], self.config)
        return headers

    def converse(self, text: str = "Hello", *, messages: list[dict[str, Any]] | None = None, v1: bool = True,
                 headers: dict[str, str] | None = None, body: dict[str, Any] | None = None,
                 req: dict[str, Any] | None = None, conduit: str | None = "", stream: bool = False,
                 **fields: Any) -> requests.Response:
        if conduit == "":
            conduit = self.prepare(**fields)
        req = req if req is not None else self.requirements()
        payload = body if body is not None else {**routing(**fields), "messages": messages or [message(text)]}
        if fields.get("action") == "continue" and body is None:
            payload.pop("messages")
        if not v1:
            payload.pop("supported_encodings", None)
        return self.session.post(self.base + CONVERSATION, data=json.dumps(payload).encode(),
                                 headers=self.auth({**self.chat_headers(req, conduit), **(headers or {})}),
                                 timeout=TIMEOUT, stream=stream)

    def ask(self, text: str = "Hello", **kwargs: Any) -> Answer:
        return decode(self.converse(text, **kwargs))


@pytest.fixture
def server() -> Iterator[OpenaiChatEmulator]:
    with OpenaiChatEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(server: OpenaiChatEmulator) -> Iterator[Client]:
    web = Client(server)
    assert web.navigate().status_code == 200
    yield web
    web.session.close()


def detail(response: requests.Response) -> str:
    return json.dumps(response.json()["detail"])


def jwt_payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


# ------------------------------------------------------------------------------ session and auth
def test_navigation_and_cookie_session(server: OpenaiChatEmulator) -> None:
    web = Client(server)
    page = web.navigate()
    assert page.status_code == 200 and f'data-build="{server.data_build}"' in page.text
    assert uuid.UUID(web.device) and '"accessToken"' not in page.text
    anonymous = web.session.get(server.base_url + "/api/auth/session", timeout=TIMEOUT)
    assert anonymous.status_code == 200 and anonymous.json() == {}
    web.session.cookies.set(SESSION_COOKIE_NAME, server.session_cookie)
    session = web.session.get(server.base_url + "/api/auth/session", timeout=TIMEOUT).json()
    assert session["user"]["email"] == server.email and session["user"]["id"] == user_id_for(server.email)
    assert session["expires"].endswith("Z") and session["accessToken"] in server.tokens_issued
    assert jwt_payload(session["accessToken"])["exp"] > time.time() + 3600
    assert server.counts["session"] == 2 and server.counts["navigation"] == 1
    # Logged in, the page itself carries the session, as chatgpt.com's does.
    assert '"accessToken"' in web.navigate().text
    # next-auth splits a long cookie into numbered pieces; they are joined.
    split = requests.get(server.base_url + "/api/auth/session", timeout=TIMEOUT, headers={"User-Agent": UA},
                         cookies={f"{SESSION_COOKIE_NAME}.0": server.session_cookie[:20],
                                  f"{SESSION_COOKIE_NAME}.1": server.session_cookie[20:]})
    assert split.json()["user"]["email"] == server.email


def test_access_tokens_are_unsigned_urlsafe_jwts() -> None:
    token = make_access_token(email="a@b.c", exp=2_000_000_000)
    header, payload, signature = token.split(".")
    assert signature == "" and "=" not in token and "+" not in token and "/" not in token
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "none"
    claims = jwt_payload(token)
    assert claims["exp"] == 2_000_000_000 and claims["https://api.openai.com/profile"]["email"] == "a@b.c"
    assert claims["https://api.openai.com/auth"]["user_id"] == user_id_for("a@b.c")
    assert make_access_token() != make_access_token(), "each token is distinct (jti)"


@pytest.mark.parametrize("authorization, expected", [
    (None, "Missing Authorization"),
    ("Basic dXNlcjpwYXNz", "Bearer"),
    ("Bearer not-a-jwt", "Could not parse"),
    ("Bearer a.b.c", "Could not parse"),
    ("Bearer " + base64.b64encode(b'{"alg":"none"}').decode() + ".e30.", "Could not parse"),
])
def test_bearer_is_required(client: Client, authorization: str | None, expected: str) -> None:
    headers = client.auth()
    headers.pop("Authorization")
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.session.get(client.base + "/backend-api/me", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401 and expected in detail(response)


def test_expired_token_is_refused(server: OpenaiChatEmulator, client: Client) -> None:
    client.token = make_access_token(email=server.email, exp=time.time() - 5)
    response = client.get("/backend-api/me")
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "token_expired" and "expired" in detail(response)
    client.token = server.access_token()
    me = client.get("/backend-api/me").json()
    assert me["email"] == server.email and me["id"] == user_id_for(server.email) and me["name"] == "User"


def test_expire_tokens_now_then_exchange_cookies_again(server: OpenaiChatEmulator, client: Client) -> None:
    assert client.get("/backend-api/me").status_code == 200
    server.expire_tokens()
    assert client.get("/backend-api/me").json()["detail"]["code"] == "token_expired"
    client.session.cookies.set(SESSION_COOKIE_NAME, server.session_cookie)
    client.token = client.session.get(client.base + "/api/auth/session", timeout=TIMEOUT).json()["accessToken"]
    assert client.get("/backend-api/me").status_code == 200
    server.faults.token_expired = True
    assert client.get("/backend-api/me").status_code == 401


def test_unauthorized_once(server: OpenaiChatEmulator, client: Client) -> None:
    server.faults.unauthorized_first = 1
    first = client.get("/backend-api/models")
    assert first.status_code == 401 and first.json()["detail"]["code"] == "token_invalidated"
    assert client.get("/backend-api/models").status_code == 200
    assert server.counts["models"] == 2 and server.counts["backend-api"] == 2


def test_device_id_must_match_the_cookie(client: Client) -> None:
    assert client.get("/backend-api/me", {"oai-device-id": str(uuid.uuid4())}).status_code == 403
    headers = client.auth()
    headers.pop("oai-device-id")
    missing = client.session.get(client.base + "/backend-api/me", headers=headers, timeout=TIMEOUT)
    assert missing.status_code == 403 and "oai-device-id" in detail(missing)
    no_cookie = requests.get(client.base + "/backend-api/me", headers={**client.auth(), "User-Agent": UA},
                             timeout=TIMEOUT)
    assert no_cookie.status_code == 403 and "oai-did cookie" in detail(no_cookie)


def test_fingerprint_must_be_consistent(client: Client) -> None:
    response = client.get("/backend-api/me", {"sec-ch-ua-platform": '"macOS"'})
    assert response.status_code == 403 and "Inconsistent browser fingerprint" in detail(response)


def test_models_and_unknown_routes(client: Client) -> None:
    models = client.get("/backend-api/models").json()
    slugs = [m["slug"] for m in models["models"]]
    assert slugs[0] == "auto" and "gpt-4o" in slugs and "gpt-4-1" in slugs and "gpt-4.1" not in slugs
    assert models["categories"][-1]["default_model"] == "auto"
    assert client.get("/backend-api/nothing").status_code == 404
    assert client.post("/backend-api/models", {}).status_code == 405
    # The pre-2025 path without /f/ is not served: a client must use the documented one.
    assert client.post("/backend-api/conversation", {}).status_code == 404


# ------------------------------------------------------------------------------ prepare and sentinel
def test_sentinel_checks_the_requirements_token(server: OpenaiChatEmulator, client: Client) -> None:
    req = client.requirements()
    assert req["token"].startswith("gAAAAAB") and req["persona"] == "chatgpt-paid"
    assert req["proofofwork"] == {"required": True, "seed": req["proofofwork"]["seed"], "difficulty": "0fffff"}
    assert client.post(SENTINEL, {"p": None}).status_code == 403
    other_ua = get_requirements_token(get_config("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0"))
    wrong = client.post(SENTINEL, {"p": other_ua})
    assert wrong.status_code == 403 and "user agent" in detail(wrong)
    assert client.session.post(client.base + SENTINEL, json={"p": get_requirements_token(client.config)},
                               headers={"oai-device-id": client.device}, timeout=TIMEOUT).status_code == 401
    server.faults.unusual_activity = True
    blocked = client.post(SENTINEL, {"p": get_requirements_token(client.config)})
    assert blocked.status_code == 403 and "Unusual activity" in detail(blocked)


def test_conversation_needs_a_conduit_token(server: OpenaiChatEmulator, client: Client) -> None:
    missing = client.converse(conduit=None)
    assert missing.status_code == 403 and "x-conduit-token" in detail(missing)
    assert client.converse(conduit="ct_forged").status_code == 403
    conduit = client.prepare()
    assert client.converse(conduit=conduit).status_code == 200
    reused = client.converse(conduit=conduit)
    assert reused.status_code == 403 and "already used" in detail(reused)
    unknown = client.post(PREPARE, routing(conversation_id=str(uuid.uuid4()), parent=str(uuid.uuid4())))
    assert unknown.status_code == 404
    assert client.post(PREPARE, {**routing(), "model": "gpt-4.1"}).status_code == 422


def test_conduit_is_bound_to_its_conversation(client: Client) -> None:
    first = client.ask("one").conversation
    conduit = client.prepare()  # prepared for a new conversation...
    response = client.converse("two", conduit=conduit, conversation_id=first.conversation_id,
                               parent=first.message_id)  # ...but sent for an existing one
    assert response.status_code == 403 and "prepared for conversation None" in detail(response)


def test_wrong_proofs_are_refused(server: OpenaiChatEmulator, client: Client) -> None:
    req = client.requirements()
    pow_ = req["proofofwork"]
    # A proof for another seed; at the emulator's easy default difficulty one such proof in 16 also
    # solves the real seed by chance, so take the first that (by the independent verifier) does not.
    token = next(t for t in (get_answer_token(f"another-seed-{i}", "000fff", client.config) for i in range(64))
                 if not verify_answer_token(t, pow_["seed"], pow_["difficulty"]))
    wrong = client.converse(req=req, headers={"openai-sentinel-proof-token": token})
    assert wrong.status_code == 403 and "does not solve" in detail(wrong)
    spent = client.converse(req=req)
    assert spent.status_code == 403 and "already used" in detail(spent)
    missing = client.converse(headers={"openai-sentinel-proof-token": ""})
    assert missing.status_code == 403 and "proof" in detail(missing)
    give_up = client.converse(headers={"openai-sentinel-proof-token": "gAAAAABwQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4DImFiYyI="})
    assert give_up.status_code == 403 and "give-up" in detail(give_up)
    other = Client(server, token=make_access_token(email="someone@else.org"))
    other.session.cookies.set("oai-did", client.device)  # same browser, another account
    stolen = other.converse(req=client.requirements())
    assert stolen.status_code == 403 and "another account" in detail(stolen)


def test_turnstile_and_arkose_walls(server: OpenaiChatEmulator, client: Client) -> None:
    server.faults.turnstile_required = True
    req = client.requirements()
    assert req["turnstile"]["required"] is True and req["turnstile"]["dx"]
    assert client.converse(req=req).status_code == 403
    ok = client.converse(headers={"openai-sentinel-turnstile-token": server.faults.turnstile_answer})
    assert ok.status_code == 200
    server.faults.turnstile_required = False
    server.faults.arkose_required = True
    assert client.requirements()["arkose"]["required"] is True
    assert client.converse().status_code == 403
    assert client.converse(headers={"openai-sentinel-arkose-token": server.arkose_answer}).status_code == 200


# ------------------------------------------------------------------------------ the conversation
@pytest.mark.parametrize("v1", [True, False], ids=["v1", "legacy"])
def test_both_encodings_decode_to_the_answer(server: OpenaiChatEmulator, client: Client, v1: bool) -> None:
    answer = client.ask("Hello there", v1=v1)
    assert answer.text == "You said: Hello there. Turn 1."
    assert answer.finish == "stop"
    assert answer.of(TitleGeneration)[0].title == "Hello there"
    stored = server.conversations[answer.conversation.conversation_id]
    assert answer.conversation.message_id == stored.current_node
    assert ("delta_encoding", '"v1"') in answer.events if v1 else all(e != "delta" for e, _ in answer.events)
    kinds = answer.typed()
    assert {"conversation_detail_metadata", "message_stream_complete", "title_generation"} <= set(kinds)
    assert kinds.index("message_stream_complete") < kinds.index("title_generation")
    if v1:  # the marker follows the first visible token, then shorthand lines continue its path
        position = next(i for i, (_, d) in enumerate(answer.events) if '"message_marker"' in d)
        assert json.loads(answer.events[position - 1][1])["p"] == "/message/content/parts/0"
        assert set(json.loads(answer.events[position + 1][1])) == {"v"}
    assert answer.events[-1][1] == "[DONE]"


def test_stream_format_fault_overrides_the_request(server: OpenaiChatEmulator, client: Client) -> None:
    server.faults.stream_format = "legacy"
    answer = client.ask("Hi", v1=True)
    assert answer.text == "You said: Hi. Turn 1." and all(e != "delta" for e, _ in answer.events)


def test_continuation_parent_must_be_the_last_answer(server: OpenaiChatEmulator, client: Client) -> None:
    first = client.ask("one").conversation
    wrong = client.converse("two", conversation_id=first.conversation_id, parent=str(uuid.uuid4()))
    assert wrong.status_code == 400 and first.message_id in detail(wrong)
    second = client.ask("two", conversation_id=first.conversation_id, parent=first.message_id)
    assert second.text == "You said: two. Turn 2." and not second.of(TitleGeneration)
    assert second.conversation.conversation_id == first.conversation_id
    reused = message("three")
    reused["id"] = second.conversation.message_id
    clash = client.converse(messages=[reused], conversation_id=first.conversation_id,
                            parent=second.conversation.message_id)
    assert clash.status_code == 400 and "already exist" in detail(clash)
    other = Client(server, token=make_access_token(email="someone@else.org"))
    other.navigate()
    response = other.post(PREPARE, routing(conversation_id=first.conversation_id,
                                           parent=second.conversation.message_id))
    assert response.status_code == 404, "another account's conversation does not exist for it"


@pytest.mark.parametrize("change, status, expected", [
    ({"model": "gpt-4.1"}, 422, "model"),
    ({"action": "regenerate"}, 422, "action"),
    ({"system_hints": ["telepathy"]}, 422, "system_hints"),
    ({"reasoning_effort": "extreme"}, 422, "reasoning_effort"),
    ({"conversation_mode": {"kind": "gizmo_interaction", "gizmo_id": "g-unknown123"}}, 404, "Gizmo"),
    ({"messages": [message("I am last", role="assistant")]}, 422, "user message"),
    ({"timezone_offset_min": "-120"}, 422, "timezone_offset_min"),
])
def test_body_is_checked(client: Client, change: dict[str, Any], status: int, expected: str) -> None:
    body = {**routing(), "messages": [message("Hello")], **change}
    response = client.converse(body=body)
    assert response.status_code == status and expected in detail(response), response.text


def test_walls_on_every_route(server: OpenaiChatEmulator, client: Client) -> None:
    server.faults.rate_limit_first = 1
    limited = client.converse()
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert client.converse().status_code == 200
    server.faults.rate_limit_first, server.faults.rate_limit_route = 1, "session"
    server.counts["session"] = 0
    assert client.session.get(client.base + "/api/auth/session", timeout=TIMEOUT).status_code == 429
    server.faults.html_block = True
    for response in (client.session.get(client.base + "/api/auth/session", timeout=TIMEOUT),
                     client.get("/backend-api/me")):
        assert response.status_code == 403 and response.headers["cf-mitigated"] == "challenge"
        assert "Just a moment" in response.text
    server.faults.html_block = False
    server.faults.conversation_status = 503
    server.faults.conversation_status_first = server.counts["conversation"] + 1  # counted from the start
    assert client.converse().status_code == 503
    assert client.converse().status_code == 200


def test_inband_error_and_dropped_stream(server: OpenaiChatEmulator, client: Client) -> None:
    server.faults.inband_error = True
    with pytest.raises(ResponseError) as raised:
        client.ask("Tell me a story")
    assert raised.value.partial_text and "You said: Tell me a story".startswith(raised.value.partial_text)
    server.faults.inband_error = False
    server.faults.drop_after = 4
    response = client.converse(stream=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response.content


def test_stall_fault(server: OpenaiChatEmulator, client: Client) -> None:
    server.faults.stall_after, server.faults.stall_seconds = 3, 0.3
    started = time.monotonic()
    assert client.ask().text == "You said: Hello. Turn 1."
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "legacy"])
def test_max_tokens_then_continue_the_same_message(server: OpenaiChatEmulator, client: Client, v1: bool) -> None:
    server.faults.max_tokens = 2
    first = client.ask("Write a longer answer please", v1=v1)
    assert first.finish == "length" and first.text
    cid, mid = first.conversation.conversation_id, first.conversation.message_id
    texts = [first.text]
    for finish in ("length", "stop"):
        more = decode(client.converse(action="continue", conversation_id=cid, parent=mid, v1=v1))
        assert more.conversation.message_id == mid, "continue extends the same message"
        assert more.finish == finish and not more.of(TitleGeneration)
        # The continued message is re-announced with its text so far: only the rest is new.
        assert more.text.startswith("".join(texts))
        texts = [more.text]
    assert texts[0] == "You said: Write a longer answer please. Turn 1."
    stored = server.conversations[cid].message(mid)
    assert stored is not None and stored["content"]["parts"] == [texts[0]]
    assert stored["metadata"]["finish_details"]["type"] == "stop"
    again = client.converse(action="continue", conversation_id=cid, parent=mid)
    assert again.status_code == 400 and "nothing to continue" in detail(again)


# ------------------------------------------------------------------------------ what answers carry
def test_web_search_cites_sources(client: Client) -> None:
    answer = client.ask("python release", hints=("search",))
    assert not re.search("[\ue200-\ue206]", answer.text), "markers never leak"
    # Citations have no text of their own (a client may render them as numbered links).
    assert re.sub(r"\s*\[\d+\]\([^)]*\)", "", answer.text) == (
        "You said: python release. Turn 1. Sources agree, and the Python docs say more.")
    sources = answer.of(Sources)[0].sources
    assert [s["url"] for s in sources] == ["https://docs.python.org/3/search.html?q=python-release",
                                           "https://en.wikipedia.org/wiki/python-release",
                                           "https://news.example.com/python-release"]
    raw = [json.loads(d) for e, d in answer.events if d.startswith("{")]
    assert any("web.run" in json.dumps(r) for r in raw), "the search call travels in the stream"
    assert "\ue200cite\ue202turn0search0" in json.dumps(raw, ensure_ascii=False)


@pytest.mark.parametrize("fields", [{"model": "o3-mini"}, {"hints": ("reason",)}])
def test_thinking_comes_first(client: Client, fields: dict[str, Any]) -> None:
    answer = client.ask("Why is the sky blue?", **fields)
    assert answer.text == "You said: Why is the sky blue?. Turn 1."
    reasoning = "".join(answer.reasoning)
    for summary, content in thought_texts("Why is the sky blue?"):
        assert summary in reasoning and content in reasoning
    first_text = next(i for i, c in enumerate(answer.chunks) if isinstance(c, str) and c)
    assert all(i < first_text for i, c in enumerate(answer.chunks) if isinstance(c, Reasoning))


def test_reasoning_effort_field_also_thinks(client: Client) -> None:
    body = {**routing(), "messages": [message("Think")], "reasoning_effort": "high"}
    assert decode(client.converse(body=body)).reasoning


def _download(client: Client, url: str) -> bytes:
    """Fetch a download URL the way a client must: a plain GET, no chatgpt.com credentials."""
    response = requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.content


def test_generated_image_file_service(server: OpenaiChatEmulator, client: Client) -> None:
    answer = client.ask("Draw a cat on a sofa", model="gpt-4o")
    images = answer.of(ImageResponse)
    assert len(images) == 1 and images[0].urls[0].startswith("file-service://file-")
    assert images[0].alt == "Draw a cat on a sofa"
    assert answer.text == "Here is the image you asked for: Draw a cat on a sofa."
    file_id = images[0].urls[0].split("://")[1]
    reply = client.get(f"/backend-api/files/{file_id}/download").json()
    assert reply["status"] == "success" and not reply["download_url"].startswith(server.base_url)
    data = _download(client, reply["download_url"])
    info = image_info(data)
    assert info is not None and (info.mime_type, info.width, info.height) == ("image/png", 64, 64)
    assert client.get("/backend-api/files/file-doesnotexist000000000/download").status_code == 404


@pytest.mark.parametrize("fields", [{"hints": ("picture_v2",)}, {"model": "gpt-image"}])
@pytest.mark.parametrize("v1", [True, False], ids=["v1", "legacy"])
def test_generated_image_sediment(server: OpenaiChatEmulator, client: Client, fields: dict[str, Any],
                                  v1: bool) -> None:
    answer = client.ask("a lighthouse at dusk", v1=v1, **fields)
    images = answer.of(ImageResponse)
    assert len(images) == 1 and images[0].urls[0].startswith("sediment://file_"), "the preview is not an image"
    cid = answer.conversation.conversation_id
    file_id = images[0].urls[0].split("://")[1]
    reply = client.get(f"/backend-api/conversation/{cid}/attachment/{file_id}/download")
    assert reply.status_code == 200 and image_info(_download(client, reply.json()["download_url"])) is not None
    newer = client.get(f"/backend-api/files/download/{file_id}?conversation_id={cid}&inline=false")
    assert newer.status_code == 200
    other = client.ask("hello").conversation.conversation_id
    assert client.get(f"/backend-api/conversation/{other}/attachment/{file_id}/download").status_code == 404
    assert client.get(f"/backend-api/files/{file_id}/download").status_code == 404


def test_async_image_task_finishes_later(server: OpenaiChatEmulator, client: Client) -> None:
    server.faults.async_image, server.faults.async_image_polls = True, 1
    answer = client.ask("Draw a red bicycle", hints=("picture_v2",))
    assert not answer.of(ImageResponse)
    raw = json.dumps([json.loads(d) for _, d in answer.events if d.startswith("{")])
    assert "image_gen_task_id" in raw and json.dumps(ASYNC_IMAGE_TEXT)[1:-1] in raw
    cid = answer.conversation.conversation_id

    def task_node() -> dict[str, Any]:
        mapping = client.get(f"/backend-api/conversation/{cid}").json()["mapping"]
        return next(n["message"] for n in mapping.values()
                    if n["message"] and n["message"]["metadata"].get("image_gen_task_id"))

    pending = task_node()
    assert pending["status"] == "in_progress" and pending["content"]["content_type"] == "text"
    done = task_node()
    assert done["status"] == "finished_successfully" and done["metadata"]["image_gen_title"]
    pointer = done["content"]["parts"][0]["asset_pointer"]
    assert pointer.startswith("sediment://file_")
    file_id = pointer.split("://")[1]
    url = client.get(f"/backend-api/conversation/{cid}/attachment/{file_id}/download").json()["download_url"]
    assert image_info(_download(client, url)) is not None
    server.faults.async_image_polls = 5
    client.ask("Draw a blue bicycle", hints=("picture_v2",))
    assert server.finish_image_tasks() == 1


def test_custom_gpt(server: OpenaiChatEmulator, client: Client) -> None:
    answer = client.ask("hi", gizmo_id="g-emulator0001")
    assert answer.text == "[Emulator Helper] You said: hi. Turn 1."
    conversation = answer.conversation
    mixed = client.converse("again", conversation_id=conversation.conversation_id, parent=conversation.message_id)
    assert mixed.status_code == 400 and "g-emulator0001" in detail(mixed)
    assert client.get(f"/backend-api/conversation/{conversation.conversation_id}").json()["gizmo_id"] == \
        "g-emulator0001"


# ------------------------------------------------------------------------------ files
def _png(width: int, height: int) -> bytes:
    return png_bytes(width, height)


def _upload(client: Client, data: bytes, name: str = "photo.png", use_case: str = "multimodal",
            headers: dict[str, str] | None = None) -> tuple[str, requests.Response]:
    created = client.post("/backend-api/files", {"file_name": name, "file_size": len(data), "use_case": use_case})
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "success"
    file_id, url = created.json()["file_id"], created.json()["upload_url"]
    put = requests.put(url, data=data, timeout=TIMEOUT, headers=headers if headers is not None else {
        "x-ms-blob-type": "BlockBlob", "x-ms-version": "2020-04-08", "Content-Type": "image/png",
        "Origin": "https://chatgpt.com"})
    return file_id, put


def _image_message(file_id: str, width: int, height: int, text: str = "What is this?") -> dict[str, Any]:
    body = message(text)
    body["content"] = {"content_type": "multimodal_text", "parts": [
        {"asset_pointer": f"file-service://{file_id}", "width": width, "height": height}, text]}
    body["metadata"] = {"attachments": [{"id": file_id, "name": "photo.png", "mimeType": "image/png",
                                         "width": width, "height": height}]}
    return body


def test_upload_flow_and_image_reference(server: OpenaiChatEmulator, client: Client) -> None:
    data = _png(3, 2)
    file_id, put = _upload(client, data)
    assert put.status_code == 201 and put.headers["Content-MD5"]
    assert server.uploads[-1].file_id == file_id and server.uploads[-1].data == data
    # The blob store is another origin, and no chatgpt.com secret ever reached it.
    assert server.blob_store.origin != server.base_url
    for seen in server.blob_store.requests:
        assert seen.header("Authorization") is None and seen.header("Cookie") is None
    early = client.converse(messages=[_image_message(file_id, 3, 2)])
    assert early.status_code == 400 and "uploaded" in detail(early)
    confirmed = client.post(f"/backend-api/files/{file_id}/uploaded", {})
    assert confirmed.status_code == 200 and _download(client, confirmed.json()["download_url"]) == data
    answer = client.ask(messages=[_image_message(file_id, 3, 2)])
    assert answer.text == "You said: What is this?. Turn 1. I see 1 image(s): 3x2 PNG."
    assert not answer.of(ImageResponse), "an uploaded image echoed back is not a generated one"
    wrong = client.converse(messages=[_image_message(file_id, 30, 20)])
    assert wrong.status_code == 400 and "3x2" in detail(wrong)
    stored = client.get(f"/backend-api/conversation/{answer.conversation.conversation_id}").json()
    user = next(n["message"] for n in stored["mapping"].values()
                if n["message"] and n["message"]["author"]["role"] == "user")
    assert user["content"]["parts"][0]["asset_pointer"] == f"file-service://{file_id}"


def test_blob_store_is_strict(server: OpenaiChatEmulator, client: Client) -> None:
    data = _png(2, 2)
    _, no_type = _upload(client, data, headers={"Content-Type": "image/png"})
    assert no_type.status_code == 400 and "MissingRequiredHeader" in no_type.text
    _, block = _upload(client, data, headers={"x-ms-blob-type": "AppendBlob"})
    assert block.status_code == 400 and "InvalidHeaderValue" in block.text
    _, leaked = _upload(client, data, headers={"x-ms-blob-type": "BlockBlob", "Authorization": f"Bearer {client.token}"})
    assert leaked.status_code == 403
    created = client.post("/backend-api/files", {"file_name": "a.png", "file_size": len(data) + 1,
                                                 "use_case": "multimodal"}).json()
    short = requests.put(created["upload_url"], data=data, headers={"x-ms-blob-type": "BlockBlob"}, timeout=TIMEOUT)
    assert short.status_code == 400 and "file_size" in short.text
    forged = created["upload_url"].rsplit("sig=", 1)[0] + "sig=forged"
    assert requests.put(forged, data=data + b"x", headers={"x-ms-blob-type": "BlockBlob"},
                        timeout=TIMEOUT).status_code == 403
    assert client.post(f"/backend-api/files/{created['file_id']}/uploaded", {}).status_code == 400
    assert len(server.uploads) == 0 and server.blob_store.counts["put"] == 5
    for bad in ({"file_name": "", "file_size": 1, "use_case": "multimodal"},
                {"file_name": "a", "file_size": 0, "use_case": "multimodal"},
                {"file_name": "a", "file_size": 1, "use_case": "avatar"}):
        assert client.post("/backend-api/files", bad).status_code == 422


def test_documents_are_attachments(client: Client) -> None:
    data = b"%PDF-1.4 not really a pdf"
    file_id, put = _upload(client, data, name="notes.pdf", use_case="my_files",
                           headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "application/pdf"})
    assert put.status_code == 201
    assert client.post(f"/backend-api/files/{file_id}/uploaded", {}).status_code == 200
    body = message("Summarize")
    body["metadata"] = {"attachments": [{"id": file_id, "name": "notes.pdf", "size": len(data)}]}
    assert client.ask(messages=[body]).text == "You said: Summarize. Turn 1. Attached: notes.pdf."
    as_image = client.converse(messages=[_image_message(file_id, 1, 1)])
    assert as_image.status_code == 400 and "not a PNG" in detail(as_image)


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


@pytest.mark.parametrize("data, expected", [
    (png_bytes(5, 7), ("image/png", 5, 7)),
    (_jpeg(640, 480), ("image/jpeg", 640, 480)),
    (b"GIF89a" + struct.pack("<HH", 12, 34) + b"\x00" * 8, ("image/gif", 12, 34)),
    (b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x00" * 8 + (99).to_bytes(3, "little") + (49).to_bytes(3, "little"),
     ("image/webp", 100, 50)),
    (b"RIFF\x00\x00\x00\x00WEBPVP8L" + b"\x00" * 4 + b"\x2f" + (9 | (19 << 14)).to_bytes(4, "little"),
     ("image/webp", 10, 20)),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 7 + b"\x9d\x01\x2a" + struct.pack("<HH", 320, 240),
     ("image/webp", 320, 240)),
    (b"%PDF-1.4", None),
])
def test_image_headers(data: bytes, expected: tuple[str, int, int] | None) -> None:
    info = image_info(data)
    assert (info.mime_type, info.width, info.height) == expected if info else expected is None


# ------------------------------------------------------------------------------ history
def _active_path(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    path, node_id = [], conversation["current_node"]
    while node_id is not None:
        node = conversation["mapping"][node_id]
        if node["message"] is not None:
            path.append(node["message"])
        node_id = node["parent"]
    return path[::-1]


def test_conversation_tree(server: OpenaiChatEmulator, client: Client) -> None:
    first = client.ask("one").conversation
    second = client.ask("two", conversation_id=first.conversation_id, parent=first.message_id).conversation
    stored = client.get(f"/backend-api/conversation/{first.conversation_id}").json()
    assert stored["title"] == "One" and stored["current_node"] == second.message_id
    mapping = stored["mapping"]
    root = mapping["client-created-root"]
    assert root["message"] is None and root["parent"] is None
    path = _active_path(stored)
    assert [m["author"]["role"] for m in path] == ["system", "user", "assistant", "user", "assistant"]
    assert path[0]["metadata"]["is_visually_hidden_from_conversation"] is True
    assert [m["content"]["parts"][0] for m in path[1:]] == ["one", "You said: one. Turn 1.", "two",
                                                            "You said: two. Turn 2."]
    off_path = [n for n in mapping.values() if n["message"] and n["id"] not in {m["id"] for m in path}]
    assert len(off_path) == 1 and off_path[0]["message"]["author"]["role"] == "assistant"
    assert mapping[path[1]["id"]]["children"][0] == off_path[0]["id"], "the draft is the older sibling"
    for node_id, node in mapping.items():
        for child in node["children"]:
            assert mapping[child]["parent"] == node_id


def test_variant_answers_again_on_a_new_branch(server: OpenaiChatEmulator, client: Client) -> None:
    server.store.draft_branch = False
    first = client.ask("one").conversation
    stored = client.get(f"/backend-api/conversation/{first.conversation_id}").json()
    question = _active_path(stored)[1]
    again = message("one")
    again["id"] = question["id"]
    variant = client.ask(messages=[again], action="variant", conversation_id=first.conversation_id,
                         parent=stored["mapping"][question["id"]]["parent"])
    assert variant.text == "You said: one. Turn 1. (Variant 2.)"
    stored = client.get(f"/backend-api/conversation/{first.conversation_id}").json()
    assert stored["current_node"] == variant.conversation.message_id
    assert len(stored["mapping"][question["id"]]["children"]) == 2
    wrong = client.converse(messages=[again], action="variant", conversation_id=first.conversation_id,
                            parent=question["id"])
    assert wrong.status_code == 400


def test_list_rename_hide(server: OpenaiChatEmulator, client: Client) -> None:
    ids = [client.ask(text).conversation.conversation_id for text in ("alpha", "beta", "gamma")]
    client.ask("secret", temporary=True)
    listed = client.get("/backend-api/conversations?offset=0&limit=28").json()
    assert [item["id"] for item in listed["items"]] == ids[::-1], "newest first, temporary omitted"
    assert listed["total"] == 3 and listed["limit"] == 28 and listed["offset"] == 0
    item = listed["items"][0]
    assert item["title"] == "Gamma" and item["create_time"].endswith("Z") and item["update_time"]
    page = client.get("/backend-api/conversations?offset=1&limit=1").json()
    assert [i["id"] for i in page["items"]] == [ids[1]] and page["total"] == 3
    assert client.patch(f"/backend-api/conversation/{ids[0]}", {"title": "Renamed"}).json() == {"success": True}
    assert client.get(f"/backend-api/conversation/{ids[0]}").json()["title"] == "Renamed"
    assert client.patch(f"/backend-api/conversation/{ids[1]}", {"is_visible": False}).status_code == 200
    assert ids[1] not in [i["id"] for i in client.get("/backend-api/conversations").json()["items"]]
    assert client.get(f"/backend-api/conversation/{ids[1]}").status_code == 404
    assert client.patch(f"/backend-api/conversation/{ids[0]}", {"owner": "me"}).status_code == 422
    assert client.patch(f"/backend-api/conversation/{ids[0]}", {"title": ""}).status_code == 422
    assert client.get("/backend-api/conversations?limit=1000").status_code == 422
    assert client.get("/backend-api/conversations?offset=-1").status_code == 422
    assert client.get(f"/backend-api/conversation/{uuid.uuid4()}").status_code == 404
    assert server.counts["conversations"] == 5 and server.counts["conversation_patch"] == 4


# ------------------------------------------------------------------------------ read aloud
@pytest.mark.parametrize("audio_format, content_type", [("aac", "audio/aac"), ("mp3", "audio/mpeg")])
def test_synthesize_streams_audio(client: Client, audio_format: str, content_type: str) -> None:
    answer = client.ask("read this").conversation
    query = (f"/backend-api/synthesize?message_id={answer.message_id}&conversation_id={answer.conversation_id}"
             f"&voice=maple&format={audio_format}")
    response = client.get(query, stream=True)
    assert response.status_code == 200 and response.headers["Content-Type"] == content_type
    assert response.headers["Transfer-Encoding"] == "chunked"
    data = b"".join(response.iter_content(None))
    assert data == synthesized_audio("You said: read this. Turn 1.", audio_format)
    assert data[:2] == b"\xff\xf1" if audio_format == "aac" else data[:3] == b"ID3"


def test_synthesize_is_strict(client: Client) -> None:
    answer = client.ask("read this").conversation
    base = f"/backend-api/synthesize?conversation_id={answer.conversation_id}"
    assert client.get(f"{base}&message_id={uuid.uuid4()}").status_code == 404
    stored = client.get(f"/backend-api/conversation/{answer.conversation_id}").json()
    question = _active_path(stored)[1]["id"]
    assert client.get(f"{base}&message_id={question}").status_code == 404, "only assistant messages are read"
    assert client.get(f"{base}&message_id={answer.message_id}&voice=robot").status_code == 422
    assert client.get(f"{base}&message_id={answer.message_id}&format=wav").status_code == 422
    assert client.get(f"/backend-api/synthesize?message_id={answer.message_id}").status_code == 422


def test_counters(server: OpenaiChatEmulator, client: Client) -> None:
    client.ask("count me")
    assert {k: server.counts[k] for k in ("navigation", "prepare", "sentinel", "conversation")} == \
        {"navigation": 1, "prepare": 1, "sentinel": 1, "conversation": 1}
    assert server.counts["backend-api"] == 3
    recorded = [r for r in server.requests if r.path == CONVERSATION]
    assert len(recorded) == 1 and recorded[0].json()["model"] == "auto"
    assert recorded[0].header("Authorization") == f"Bearer {client.token}"
    server.faults.rate_limit_first, server.faults.rate_limit_route = 9, "me"
    assert client.get("/backend-api/me").status_code == 429
    assert server.counts["backend-api"] == 4, "walled requests count too"
    _upload(client, b"x")
    server.reset_counters()
    assert not any(server.counts.values()) and not server.uploads and not server.requests
