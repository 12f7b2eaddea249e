"""The ChatGPT web emulator itself, driven with plain ``requests`` and a tiny solver written here.

The emulator is only worth something if it refuses what the real backend refuses, so most tests
here are rejections: each one takes a correct request and breaks exactly one thing.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import time
import uuid
from typing import Any, Iterator

import pytest
import requests

from chatgpt_sync.testing.chatgpt_web import ChatGptWebEmulator

WIN_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
SENTINEL = "/backend-anon/sentinel/chat-requirements"
CONVERSATION = "/backend-anon/conversation"
TIMEOUT = (5, 10)


# ------------------------------------------------------------------------------ a tiny client
def make_config(user_agent: str) -> list[Any]:
    """An 18-element fingerprint like protocols.md §2.1 (values fixed; only the shape matters)."""
    return [4016, "Mon Jan 01 2024 00:00:00 GMT+0200 (Central European Summer Time)", None, 0.5,
            user_agent, None, "prod-db8e51e8414e068257091cf5003a62d3d4ee6ed0", "en-US", "en-US,en", 0,
            "webdriver\u2212false", "location", "onclick", 1234.5, str(uuid.uuid4()), "", 8, 1704060000]


def _payload(config: list[Any], i: int) -> str:
    attempt = list(config)
    attempt[3], attempt[9] = i, i >> 1
    raw = json.dumps(attempt, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(raw).decode()


def solve(seed: str, difficulty: str, config: list[Any], prefix: str = "gAAAAAB") -> str:
    """SHA3-512 over counter variations of the config until the hex prefix is <= difficulty."""
    for i in range(200_000):
        payload = _payload(config, i)
        if hashlib.sha3_512((seed + payload).encode()).hexdigest()[: len(difficulty)] <= difficulty:
            return prefix + payload
    raise AssertionError("unsolved")


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    events: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            events.append((event, "\n".join(data)))
    return events


def _resolve(doc: Any, path: str) -> tuple[Any, str | int]:
    keys: list[Any] = path.split("/")[1:]
    for key in keys[:-1]:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    last = keys[-1]
    return doc, int(last) if isinstance(doc, list) else last


def _apply(envelope: dict[str, Any], p: str, o: str, v: Any) -> None:
    if o == "patch":
        for op in v:
            _apply(envelope, op["p"], op["o"], op["v"])
        return
    parent, key = _resolve(envelope, p)
    if o == "replace":
        parent[key] = v
    elif o == "append":
        current = parent[key]
        if isinstance(current, dict):
            current.update(v)
        else:
            parent[key] = current + v
    else:
        raise AssertionError(f"unexpected op {o}")


class Decoded:
    """A stream decoded the way a correct client would (v1 patches applied, legacy snapshots kept)."""

    def __init__(self, text: str) -> None:
        self.events = parse_sse(text)
        self.messages: dict[str, dict[str, Any]] = {}  # message id -> latest envelope
        self.typed: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.done = bool(self.events) and self.events[-1][1] == "[DONE]"
        last_p, last_o, current = "", "", None
        for event, data in self.events:
            if data == "[DONE]" or event == "delta_encoding":
                continue
            obj = json.loads(data)
            if "type" in obj:
                self.typed.append(obj)
            elif obj.get("error"):
                self.errors.append(obj["error"])
            elif event == "delta":
                p, o = obj.get("p", last_p), obj.get("o", last_o)
                last_p, last_o = p, o
                if p == "" and o == "add":
                    current = obj["v"]
                    self.messages[current["message"]["id"]] = current
                else:
                    assert current is not None
                    _apply(current, p, o, obj["v"])
            else:
                self.messages[obj["message"]["id"]] = obj

    @property
    def answer_message(self) -> dict[str, Any]:
        found = [env["message"] for env in self.messages.values()
                 if env["message"]["author"]["role"] == "assistant" and env["message"]["recipient"] == "all"
                 and env["message"]["content"]["content_type"] == "text"]
        assert len(found) == 1, found
        return dict(found[0])

    @property
    def answer(self) -> str:
        return str(self.answer_message["content"]["parts"][0])

    def types(self) -> list[str]:
        return [t["type"] for t in self.typed]


class WebClient:
    """The anonymous flow step by step, each step overridable so a test can break one thing."""

    def __init__(self, server: ChatGptWebEmulator, user_agent: str = WIN_UA) -> None:
        self.base = server.base_url
        self.user_agent = user_agent
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.config = make_config(user_agent)

    def navigate(self) -> requests.Response:
        return self.session.get(self.base + "/", timeout=TIMEOUT)

    @property
    def device(self) -> str:
        return str(self.session.cookies.get("oai-did"))

    def sentinel(self, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        if body is None:
            body = {"p": solve(str(0.42), "0fffff", self.config, prefix="gAAAAAC")}
        merged = {"oai-device-id": self.device, **(headers or {})}
        return self.session.post(self.base + SENTINEL, json=body, headers=merged, timeout=TIMEOUT)

    def requirements(self) -> dict[str, Any]:
        response = self.sentinel()
        assert response.status_code == 200, response.text
        return dict(response.json())

    def headers_for(self, req: dict[str, Any]) -> dict[str, str]:
        headers = {"oai-device-id": self.device, "Accept": "text/event-stream",
                   "Content-Type": "application/json",
                   "openai-sentinel-chat-requirements-token": req["token"]}
        pow_ = req["proofofwork"]
        if pow_["required"]:
            headers["openai-sentinel-proof-token"] = solve(pow_["seed"], pow_["difficulty"], self.config)
        return headers

    def converse(self, text: str = "Hello", *, conversation_id: str | None = None, parent: str | None = None,
                 v1: bool = True, req: dict[str, Any] | None = None, headers: dict[str, Any] | None = None,
                 body: dict[str, Any] | None = None, raw: bytes | None = None,
                 stream: bool = False) -> requests.Response:
        req = req if req is not None else self.requirements()
        merged = {**self.headers_for(req), **(headers or {})}
        payload = body if body is not None else make_body(text, conversation_id=conversation_id,
                                                           parent=parent, v1=v1)
        data = raw if raw is not None else json.dumps(payload).encode()
        return self.session.post(self.base + CONVERSATION, data=data, headers=merged, timeout=TIMEOUT,
                                 stream=stream)


def web_message(text: str, role: str = "user") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "author": {"role": role},
            "content": {"content_type": "text", "parts": [text]},
            "metadata": {"serialization_metadata": {"custom_symbol_offsets": []}},
            "create_time": round(time.time(), 3)}


def make_body(text: str, *, conversation_id: str | None = None, parent: str | None = None,
              v1: bool = True, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": "next", "messages": messages or [web_message(text)],
        "parent_message_id": parent or str(uuid.uuid4()), "model": "auto", "timezone_offset_min": -120,
        "history_and_training_disabled": False, "conversation_mode": {"kind": "primary_assistant"},
        "websocket_request_id": str(uuid.uuid4()), "force_use_sse": True, "system_hints": [],
    }
    if v1:
        body["supported_encodings"] = ["v1"]
    if conversation_id:
        body["conversation_id"] = conversation_id
    return body


@pytest.fixture
def server() -> Iterator[ChatGptWebEmulator]:
    with ChatGptWebEmulator() as emulator:
        assert isinstance(emulator, ChatGptWebEmulator)
        yield emulator


@pytest.fixture
def client(server: ChatGptWebEmulator) -> Iterator[WebClient]:
    web = WebClient(server)
    assert web.navigate().status_code == 200
    yield web
    web.session.close()


def detail(response: requests.Response) -> str:
    return str(response.json()["detail"])


# ------------------------------------------------------------------------------ navigation and sentinel
def test_navigation_sets_device_cookie_and_build(server: ChatGptWebEmulator) -> None:
    web = WebClient(server)
    first = web.navigate()
    assert first.status_code == 200
    assert f'data-build="{server.data_build}"' in first.text
    device = web.device
    assert uuid.UUID(device) and device in server.devices
    assert web.session.cookies.get("__cf_bm")
    web.navigate()
    assert web.device == device, "a known oai-did cookie is kept, not replaced"


def test_navigation_requires_user_agent(server: ChatGptWebEmulator) -> None:
    # requests/urllib3 always add a User-Agent, so go one level down.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 403 and b"User-Agent" in response.read()
    finally:
        connection.close()


def test_sentinel_answer_shape(server: ChatGptWebEmulator, client: WebClient) -> None:
    req = client.requirements()
    assert req["persona"] == "chatgpt-noauth" and req["expire_after"] == 540
    assert req["token"].startswith("gAAAAAB") and req["token"] in server.issued
    assert req["proofofwork"]["required"] is True and req["proofofwork"]["difficulty"] == "0fffff"
    assert float(req["proofofwork"]["seed"]) < 1
    assert req["turnstile"] == {"required": False}
    assert server.issued[req["token"]].seed == req["proofofwork"]["seed"]
    assert client.requirements()["token"] != req["token"]


@pytest.mark.parametrize("body, status, words", [
    (b"not json", 400, "JSON"),
    ([1, 2], 400, "object"),
    ({}, 400, "body.p"),
    ({"p": None}, 400, "body.p"),
    ({"p": "gAAAAACnotbase64!!"}, 403, "requirements token"),
    ({"p": "gAAAAAC" + base64.b64encode(b"[1,2,3]").decode()}, 403, "requirements token"),
])
def test_sentinel_rejects_bad_body(client: WebClient, body: Any, status: int, words: str) -> None:
    if isinstance(body, bytes):
        response = client.session.post(client.base + SENTINEL, data=body, timeout=TIMEOUT,
                                       headers={"oai-device-id": client.device})
    else:
        response = client.sentinel(body)
    assert response.status_code == status and words in detail(response)


def test_sentinel_rejects_fingerprint_for_another_user_agent(client: WebClient) -> None:
    other = make_config("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
    response = client.sentinel({"p": solve("0.1", "0fffff", other, prefix="gAAAAAC")})
    assert response.status_code == 403 and "user agent" in detail(response)


def test_sentinel_checks_platform_consistency(client: WebClient) -> None:
    bad = client.sentinel(headers={"sec-ch-ua-platform": '"Linux"'})
    assert bad.status_code == 403 and "sec-ch-ua-platform" in detail(bad)
    assert client.sentinel(headers={"sec-ch-ua-platform": '"Windows"'}).status_code == 200


@pytest.mark.parametrize("mutate, words", [
    (lambda c: c.session.cookies.clear(), "oai-did cookie"),
    (lambda c: (c.session.cookies.clear(), c.session.cookies.set("oai-did", str(uuid.uuid4()))),
     "does not match"),
])
def test_sentinel_device_id_must_match_cookie(client: WebClient, mutate: Any, words: str) -> None:
    device = client.device
    mutate(client)
    response = client.sentinel(headers={"oai-device-id": device})
    assert response.status_code == 403 and words in detail(response)


def test_sentinel_rejects_missing_device_header_and_unknown_device(client: WebClient) -> None:
    missing = client.session.post(client.base + SENTINEL, json={"p": "x"}, timeout=TIMEOUT)
    assert missing.status_code == 403 and "oai-device-id" in detail(missing)
    forged = str(uuid.uuid4())
    client.session.cookies.clear()
    client.session.cookies.set("oai-did", forged)
    response = client.sentinel(headers={"oai-device-id": forged})
    assert response.status_code == 403 and "not issued" in detail(response)


# ------------------------------------------------------------------------------ happy paths
def test_happy_path_v1(server: ChatGptWebEmulator, client: WebClient) -> None:
    response = client.converse("Hello")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    decoded = Decoded(response.text)
    assert decoded.events[0] == ("delta_encoding", '"v1"') and decoded.done
    assert decoded.answer == "You said: Hello. Turn 1."
    message = decoded.answer_message
    assert message["status"] == "finished_successfully" and message["end_turn"] is True
    assert message["metadata"]["finish_details"]["type"] == "stop"
    types = decoded.types()
    assert types[0] == "input_message" and types[-2:] == ["message_stream_complete", "title_generation"]
    title, cid = decoded.typed[-1], decoded.typed[0]["conversation_id"]
    assert title["title"] == "Hello" and title["conversation_id"] == cid and cid in server.conversations
    # The bare {"v": ...} continuation form is what the stream mostly consists of.
    assert sum(1 for ev, data in decoded.events if ev == "delta" and data.startswith('{"v"')) >= 5


def test_happy_path_legacy(server: ChatGptWebEmulator, client: WebClient) -> None:
    response = client.converse("Hello", v1=False)
    assert response.status_code == 200
    decoded = Decoded(response.text)
    assert all(event is None for event, _ in decoded.events) and decoded.done
    assert decoded.answer == "You said: Hello. Turn 1."
    assert decoded.answer_message["metadata"]["finish_details"]["type"] == "stop"
    snapshots = [json.loads(d)["message"] for _, d in decoded.events if d.startswith('{"message"')]
    assert snapshots[0]["author"]["role"] == "user", "the user's message is echoed first"
    texts = [m["content"]["parts"][0] for m in snapshots if m["author"]["role"] == "assistant"]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:])), "snapshots grow"
    assert "finish_details" not in snapshots[-2]["metadata"]
    assert decoded.types() == ["title_generation"]


@pytest.mark.parametrize("forced, v1_request, expect_v1", [
    ("legacy", True, False), ("v1", False, True), ("auto", True, True), ("auto", False, False)])
def test_stream_format_switch(server: ChatGptWebEmulator, client: WebClient, forced: str,
                              v1_request: bool, expect_v1: bool) -> None:
    server.faults.stream_format = forced
    decoded = Decoded(client.converse("x", v1=v1_request).text)
    assert (decoded.events[0][0] == "delta_encoding") is expect_v1
    assert decoded.answer == "You said: x. Turn 1."


@pytest.mark.parametrize("v1", [True, False])
def test_repeated_and_unicode_reply(v1: bool) -> None:
    with ChatGptWebEmulator(reply="hahaha Привет 👋") as server:
        assert isinstance(server, ChatGptWebEmulator)
        web = WebClient(server)
        web.navigate()
        response = web.converse("laugh", v1=v1)
        assert "👋".encode() in response.content and b"\\u" not in response.content, "raw UTF-8 on the wire"
        assert Decoded(response.content.decode()).answer == "hahaha Привет 👋"
        if v1:
            pieces = [json.loads(d).get("v") for e, d in parse_sse(response.text) if e == "delta"]
            assert pieces.count("ha") >= 2, "the repeated piece arrives more than once"


def test_works_with_the_sdk_proof_of_work(server: ChatGptWebEmulator) -> None:
    pow_ = pytest.importorskip("chatgpt_sync.providers._web.pow")
    web = WebClient(server)
    web.navigate()
    config = pow_.get_config(WIN_UA)
    req = web.sentinel({"p": pow_.get_requirements_token(config)}).json()
    proof = pow_.get_answer_token(req["proofofwork"]["seed"], req["proofofwork"]["difficulty"], config)
    response = web.converse("sdk", req=req, headers={"openai-sentinel-proof-token": proof})
    assert response.status_code == 200, response.text
    assert Decoded(response.text).answer == "You said: sdk. Turn 1."


# ------------------------------------------------------------------------------ conversation checks
def test_continuation_is_checked_end_to_end(server: ChatGptWebEmulator, client: WebClient) -> None:
    first = Decoded(client.converse("one").text)
    cid = first.typed[0]["conversation_id"]
    parent = first.answer_message["id"]
    second = Decoded(client.converse("two", conversation_id=cid, parent=parent).text)
    assert second.answer == "You said: two. Turn 2."
    assert "title_generation" not in second.types()
    rows = server.conversations[cid]
    assert [r["role"] for r in rows] == ["user", "assistant", "user", "assistant"]
    assert all(b["parent"] == a["id"] for a, b in zip(rows, rows[1:])), "parents chain"

    stale = client.converse("three", conversation_id=cid, parent=parent)
    assert stale.status_code == 400 and "parent_message_id" in detail(stale)
    unknown = client.converse("x", conversation_id=str(uuid.uuid4()), parent=parent)
    assert unknown.status_code == 404 and "conversation" in detail(unknown)


def test_system_message_does_not_count_as_a_turn(server: ChatGptWebEmulator, client: WebClient) -> None:
    body = make_body("", messages=[web_message("Be brief.", "system"), web_message("hi")])
    decoded = Decoded(client.converse(body=body).text)
    assert decoded.answer == "You said: hi. Turn 1."
    assert decoded.typed[-1]["title"] == "Hi"


def test_wrong_proof_is_rejected(client: WebClient) -> None:
    req = client.requirements()
    wrong = solve("some other seed", "0fffff", client.config)
    response = client.converse(req=req, headers={"openai-sentinel-proof-token": wrong})
    # A token solved for another seed may still pass by luck (1 in 16); try until it fails honestly.
    seed = 0
    while response.status_code == 200:
        seed += 1
        req = client.requirements()
        wrong = solve(f"other {seed}", "0fffff", client.config)
        response = client.converse(req=req, headers={"openai-sentinel-proof-token": wrong})
    assert response.status_code == 403 and "does not solve" in detail(response)


def test_give_up_rejected_and_stronger_proof_accepted(client: WebClient) -> None:
    give_up = "gAAAAABwQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4D" + base64.b64encode(b'"0.5"').decode()
    response = client.converse(headers={"openai-sentinel-proof-token": give_up})
    assert response.status_code == 403 and "give-up" in detail(response)
    req = client.requirements()
    req_hard = dict(req, proofofwork={**req["proofofwork"], "difficulty": "00ffff"})
    proof = client.headers_for(req_hard)  # solved for 00ffff passes 0fffff too: must be accepted
    assert client.converse(req=req, headers=proof).status_code == 200


def test_proof_from_another_user_agent_is_rejected(client: WebClient) -> None:
    req = client.requirements()
    other = make_config("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15")
    proof = solve(req["proofofwork"]["seed"], req["proofofwork"]["difficulty"], other)
    response = client.converse(req=req, headers={"openai-sentinel-proof-token": proof})
    assert response.status_code == 403 and "fingerprint" in detail(response)


@pytest.mark.parametrize("header, value, words", [
    ("oai-device-id", None, "oai-device-id"),
    ("openai-sentinel-chat-requirements-token", None, "chat-requirements-token"),
    ("openai-sentinel-chat-requirements-token", "gAAAAABforged", "never issued"),
    ("openai-sentinel-proof-token", None, "openai-sentinel-proof-token"),
    ("Content-Type", "text/plain", "Content-Type"),
    ("Accept", "application/json", "text/event-stream"),
    ("User-Agent", None, "User-Agent"),
    ("sec-ch-ua-platform", '"macOS"', "sec-ch-ua-platform"),
    ("oai-device-id", "0d2a7d1c-97b4-4f67-9d5c-0cbb5c1bb9a4", "does not match"),
])
def test_missing_or_wrong_header_is_rejected(client: WebClient, header: str, value: str | None,
                                             words: str) -> None:
    response = client.converse(headers={header: value})
    assert response.status_code == 403 and words in detail(response)


def test_requirements_token_is_single_use(client: WebClient) -> None:
    req = client.requirements()
    headers = client.headers_for(req)
    assert client.converse(req=req, headers=headers).status_code == 200
    again = client.converse(req=req, headers=headers)
    assert again.status_code == 403 and "already used" in detail(again)


def test_requirements_token_expires(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.token_ttl = 0.05
    req = client.requirements()
    time.sleep(0.1)
    response = client.converse(req=req)
    assert response.status_code == 403 and "expired" in detail(response)


def test_requirements_token_is_bound_to_its_device(server: ChatGptWebEmulator, client: WebClient) -> None:
    req = client.requirements()
    other = WebClient(server)
    other.navigate()
    other.config = client.config
    response = other.converse(req=req)
    assert response.status_code == 403 and "issued to device" in detail(response)


@pytest.mark.parametrize("change, status, words", [
    ({"action": "variant"}, 422, "action"),
    ({"messages": []}, 422, "messages"),
    ({"messages": [{"id": "x"}]}, 422, "messages[0].id"),
    ({"messages": [dict(web_message("a"), content={"content_type": "text", "parts": [1]})]}, 422, "parts"),
    ({"messages": [web_message("a", "assistant")]}, 422, "must end with a user message"),
    ({"model": "gpt-9"}, 422, "model"),
    ({"parent_message_id": 5}, 422, "parent_message_id"),
    ({"timezone_offset_min": "-120"}, 422, "timezone_offset_min"),
    ({"conversation_mode": {"kind": "gizmo_interaction"}}, 422, "conversation_mode"),
    ({"websocket_request_id": None}, 422, "websocket_request_id"),
    ({"force_use_sse": False}, 422, "force_use_sse"),
    ({"supported_encodings": "v1"}, 422, "supported_encodings"),
    ({"conversation_id": "abc"}, 422, "conversation_id"),
])
def test_malformed_body_is_rejected(client: WebClient, change: dict[str, Any], status: int,
                                    words: str) -> None:
    response = client.converse(body={**make_body("hi"), **change})
    assert response.status_code == status and words in detail(response)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_unparsable_body_is_400(client: WebClient, raw: bytes) -> None:
    response = client.converse(raw=raw)
    assert response.status_code == 400 and "JSON" in detail(response)


def test_unknown_path_is_404(client: WebClient) -> None:
    assert client.session.get(client.base + "/backend-anon/models", timeout=TIMEOUT).status_code == 404


# ------------------------------------------------------------------------------ walls
def test_turnstile_wall(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.turnstile_required = True
    req = client.requirements()
    assert req["turnstile"]["required"] is True and len(req["turnstile"]["dx"]) > 100
    response = client.converse(req=req)
    assert response.status_code == 403 and "turnstile" in detail(response)
    wrong = client.converse(headers={"openai-sentinel-turnstile-token": "guess"})
    assert wrong.status_code == 403 and "rejected" in detail(wrong)
    ok = client.converse(headers={"openai-sentinel-turnstile-token": "turnstile-ok"})
    assert ok.status_code == 200


def test_arkose_wall(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.arkose_required = True
    assert client.requirements()["arkose"]["required"] is True
    response = client.converse()
    assert response.status_code == 403 and "arkose" in detail(response)
    ok = client.converse(headers={"openai-sentinel-arkose-token": server.arkose_answer})
    assert ok.status_code == 200


def test_unusual_activity(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.unusual_activity = True
    response = client.sentinel()
    assert response.status_code == 403
    assert detail(response) == "Unusual activity has been detected from your device. Try again later."


def test_force_login(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.force_login = True
    response = client.sentinel()
    assert response.status_code == 200 and response.json()["force_login"] is True
    assert "token" not in response.json()


def test_html_block_everywhere(server: ChatGptWebEmulator) -> None:
    web = WebClient(server)
    web.navigate()
    server.faults.html_block = True
    for response in (web.navigate(), web.sentinel({"p": "x"}),
                     web.session.post(server.base_url + CONVERSATION, json={}, timeout=TIMEOUT)):
        assert response.status_code == 403
        assert response.headers["Content-Type"].startswith("text/html")
        assert "<title>Just a moment...</title>" in response.text
        assert response.headers["cf-mitigated"] == "challenge"


@pytest.mark.parametrize("retry_after", ["1", None])
def test_sentinel_rate_limit_first(server: ChatGptWebEmulator, client: WebClient,
                                   retry_after: str | None) -> None:
    server.faults.rate_limit_first = 2
    server.faults.retry_after = retry_after
    for _ in range(2):
        response = client.sentinel()
        assert response.status_code == 429 and response.headers.get("Retry-After") == retry_after
    assert client.sentinel().status_code == 200
    assert server.counts["sentinel"] == 3


def test_forced_conversation_status_consumes_nothing(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.conversation_status = 500
    server.faults.conversation_status_first = 1
    req = client.requirements()
    headers = client.headers_for(req)
    failed = client.converse(req=req, headers=headers)
    assert failed.status_code == 500 and "emulated" in detail(failed)
    assert client.converse(req=req, headers=headers).status_code == 200, "retry with the same ids works"
    assert len(server.conversations) == 1


def test_forced_429_carries_retry_after(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.conversation_status = 429
    server.faults.conversation_status_first = 5
    response = client.converse()
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"


def test_pow_not_required(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.pow_required = False
    req = client.requirements()
    assert req["proofofwork"] == {"required": False}
    assert client.converse(req=req).status_code == 200


def test_harder_difficulty_is_issued_and_enforced(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.difficulty = "00ffff"
    req = client.requirements()
    assert req["proofofwork"]["difficulty"] == "00ffff"
    assert client.converse(req=req).status_code == 200
    # An answer good enough for 0fffff but not for 00ffff must fail.
    req = client.requirements()
    seed = req["proofofwork"]["seed"]
    for i in range(100_000):
        digest = hashlib.sha3_512((seed + _payload(client.config, i)).encode()).hexdigest()
        if "00ffff" < digest[:6] <= "0fffff":
            weak = "gAAAAAB" + _payload(client.config, i)
            break
    response = client.converse(req=req, headers={"openai-sentinel-proof-token": weak})
    assert response.status_code == 403 and "does not solve" in detail(response)


# ------------------------------------------------------------------------------ stream faults
def test_drop_after(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.drop_after = 4
    response = client.converse(stream=True)
    received = b""
    with pytest.raises(requests.exceptions.RequestException):
        for chunk in response.iter_content(None):
            received += chunk
    assert len(parse_sse(received.decode())) == 4


def test_stall_after(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.stall_after = 3
    server.faults.stall_seconds = 0.5
    started = time.monotonic()
    response = client.converse()
    assert time.monotonic() - started >= 0.45
    assert Decoded(response.text).answer == "You said: Hello. Turn 1."


def test_stall_trips_a_client_read_timeout(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.stall_after = 3
    server.faults.stall_seconds = 1.0
    req = client.requirements()
    headers = {**client.headers_for(req), "User-Agent": WIN_UA}
    body = json.dumps(make_body("x")).encode()
    with pytest.raises(requests.exceptions.ConnectionError):
        response = client.session.post(client.base + CONVERSATION, data=body, headers=headers,
                                       timeout=(5, 0.2), stream=True)
        for _ in response.iter_content(None):
            pass


@pytest.mark.parametrize("v1", [True, False])
def test_inband_error(server: ChatGptWebEmulator, client: WebClient, v1: bool) -> None:
    server.faults.inband_error = True
    decoded = Decoded(client.converse("tell me", v1=v1).text)
    assert decoded.errors == ["Something went wrong while generating the response."]
    text = decoded.answer_message["content"]["parts"][0]
    assert text and "You said: tell me. Turn 1.".startswith(text) and len(text) < 20
    assert decoded.done


def test_title_before_complete(server: ChatGptWebEmulator, client: WebClient) -> None:
    server.faults.title_after_complete = False
    types = Decoded(client.converse().text).types()
    assert types.index("title_generation") < types.index("message_stream_complete")


@pytest.mark.parametrize("v1", [True, False])
def test_tool_message_is_not_answer_text(server: ChatGptWebEmulator, client: WebClient, v1: bool) -> None:
    server.faults.tool_message = True
    response = client.converse("compute", v1=v1)
    assert "math.sqrt" in response.text
    decoded = Decoded(response.text)
    assert decoded.answer == "You said: compute. Turn 1."
    recipients = {env["message"]["recipient"] for env in decoded.messages.values()}
    roles = {env["message"]["author"]["role"] for env in decoded.messages.values()}
    assert "python" in recipients and "tool" in roles
    if v1:
        # A client that treats every bare {"v": str} as answer text would leak the code.
        bare = "".join(json.loads(d)["v"] for e, d in decoded.events if e == "delta" and d.startswith('{"v"'))
        assert "math.sqrt" in bare
