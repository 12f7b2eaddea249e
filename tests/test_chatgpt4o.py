"""Chatgpt4o (chatgpt4o.one, WordPress + the AI Power chat plugin) against its strict loopback emulator.

Where the refusal shapes come from (read from the source, not guessed):

- The plugin, WordPressBugBounty/plugins-gpt3-ai-content-generator, file
  gpt3-ai-content-generator/classes/wpaicg_chat.php:
  * 1.8.79-1.8.90 (commit 131dbb2, lines 671-675): ``wp_verify_nonce($_REQUEST['_wpnonce'],
    'wpaicg-chatbox')`` failing -> ``wp_send_json(['status' => 'error', 'msg' => 'Nonce verification
    failed'])``: HTTP 200, JSON, no ``data``  -> style "plugin_json".
  * 1.8.91 and later (commit 618bcad, line 228): ``check_admin_referer('wpaicg-chatbox', '_wpnonce')``
    -> WordPress's wp_nonce_ays -> HTTP 403, text/html "The link you followed has expired."
    -> style "admin_referer".
  * 1.8.87-1.8.90 (commit 3649832, line 43), the lead form on the same nonce:
    ``wp_send_json_error('Nonce verification failed.')`` -> style "json_error".
  * 2.x chat (commit 3bba23d, classes/chat/core/ajax-processor/ajax_frontend_chat_message.php:80-84):
    ``wp_send_json_error(['message' => 'Security check failed. ...'], 403)`` -> style "json_error_403".
  * success keeps the default ``'msg' => 'Something went wrong'`` (131dbb2 lines 667, 1679); an empty
    message gets "It appears that nothing was inputted." (line 1712); the widget template prints
    ``data-nonce`` / ``data-post-id`` (admin/extra/wpaicg_chatbox.php:796-797) and has attributes with
    spaces around ``=`` (line 808).
- The plugin in 2023, aipowerorg/AI-Power classes/wpaicg_chat.php:177-178 with WPAICG_NONCE_ERROR
  from gpt3-ai-content-extra.php:5 ("Invalid nonce. ...") -> style "plugin_json_2023".
- WordPress core 6.6.2 (johnpbloch/wordpress-core, a mirror of the releases):
  * wp-includes/pluggable.php:1347 check_ajax_referer -> ``wp_die( -1, 403 )`` -> "ajax_referer";
    line 1349 ``die( '-1' )`` outside Ajax; lines 1272-1298 check_admin_referer -> wp_nonce_ays;
    line 2326 the ``nonce_user_logged_out`` filter (how a guest's nonce can be tied to a session
    cookie); line 2387 the nonce itself.
  * wp-includes/functions.php:3629-3667 wp_nonce_ays (403, "The link you followed has expired.");
    4005 _ajax_wp_die_handler (prints the message with the status); 4550-4569 wp_send_json_error
    (``{"success": false, "data": ...}``).
  * wp-admin/admin-ajax.php:27 (every answer starts as text/html), 32 and 196 (``wp_die( '0', 400 )``
    for a missing or unknown action), 211 (``wp_die( '0' )`` when the handler returns): ``0`` is
    never a nonce refusal.
"""

from __future__ import annotations

import http.client
import pickle
import threading
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode

import pytest
import requests

from chatgpt_sync import Timeout
from chatgpt_sync.errors import (
    BlockedError, InvalidRequestError, PermissionDeniedError, ResponseError, UnknownParameterError,
)
from chatgpt_sync.providers.chatgpt4o import (
    Chatgpt4o, PageValues, _answer, _parse, _refusal, _Reply, format_prompt, scrape_page,
)
from chatgpt_sync.testing.chatgpt4o import (
    CONVERSATION_COOKIE, NOTHING_INPUTTED, PLUGIN_FIELDS, SESSION_COOKIE, STALE_STYLES, Chatgpt4oEmulator,
)
from chatgpt_sync.types import FinishReason

from conftest import wait_until

AJAX = "/wp-admin/admin-ajax.php"
HELLO = [{"role": "user", "content": "hello there"}]
TIMEOUT = Timeout(connect=2, read=5, stream_idle=5)
HTTP_403_STYLES = {name for name, (status, _, _) in STALE_STYLES.items() if status == 403}


@pytest.fixture(scope="module")
def shared() -> Iterator[Chatgpt4oEmulator]:
    with Chatgpt4oEmulator() as emulator:
        yield emulator


@pytest.fixture
def server(shared: Chatgpt4oEmulator) -> Chatgpt4oEmulator:
    shared.reset()
    shared.reply, shared.attribute_order, shared.quote, shared.spaced = None, "plugin", '"', False
    return shared


@pytest.fixture
def provider(server: Chatgpt4oEmulator) -> Iterator[Chatgpt4o]:
    with Chatgpt4o(base_url=server.base_url, timeout=TIMEOUT, max_retries=0) as p:
        yield p


def ajax_forms(server: Chatgpt4oEmulator) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in parse_qs(r.body.decode(), keep_blank_values=True).items()}
            for r in server.requests if r.path == AJAX]


def ajax_cookies(server: Chatgpt4oEmulator) -> list[str]:
    return [r.header("cookie") or "" for r in server.requests if r.path == AJAX]


def page_nonce(server: Chatgpt4oEmulator, session: str) -> str:
    return scrape_page(server.page_html(session)).nonce


# ------------------------------------------------------------------------------ the answer
@pytest.mark.parametrize("stream", [True, False])
def test_the_answer_comes_whole_then_one_finish(server, provider, stream) -> None:
    chunks = list(provider.create_completion("gpt-4o-mini", HELLO, stream=stream))
    assert chunks == ["Echo: hello there", FinishReason("stop")]
    assert (server.page_loads, server.ajax_posts, server.answers) == (1, 1, 1)
    form = ajax_forms(server)[0]
    assert set(PLUGIN_FIELDS) <= set(form)
    assert form["action"] == "wpaicg_chat_shortcode_message"
    assert (form["post_id"], form["bot_id"], form["message"]) == ("42", "0", "hello there")
    assert form["url"] == server.origin + "/"  # the widget's data-url


def test_class_call_works_and_releases_its_connections(server) -> None:
    stream = Chatgpt4o.create_completion("", HELLO, base_url=server.base_url, timeout=TIMEOUT)
    assert "".join(c for c in stream if isinstance(c, str)) == "Echo: hello there"
    assert wait_until(lambda: server.connections_open == 0)


def test_defaults_are_honest() -> None:
    assert Chatgpt4o.working is False
    assert Chatgpt4o().settings_for_call({}).base_url == "https://chatgpt4o.one"
    assert Chatgpt4o.get_model("gpt-4o-mini") == Chatgpt4o.get_model("anything") == "gpt-4o-mini-2024-07-18"


def test_the_history_is_formatted_into_one_message(server, provider) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": [{"type": "text", "text": "why?"}]}]
    chunks = list(provider.create_completion("", messages))
    sent = ajax_forms(server)[0]["message"]
    assert sent == "System: Be brief.\nUser: hi\nAssistant: hello\nUser: why?\nAssistant:"
    # The plugin runs sanitize_text_field on the message, so the model sees it on one line.
    assert chunks[0] == "Echo: System: Be brief. User: hi Assistant: hello User: why? Assistant:"
    assert format_prompt([{"role": "user", "content": "  as is\n"}]) == "  as is\n"
    assert format_prompt([{"role": "user", "content": "a"}, {"role": "assistant", "content": ""},
                          {"role": "user", "content": "b"}]) == "User: a\nUser: b\nAssistant:"


# ------------------------------------------------------------------------------ scraping
@pytest.mark.parametrize("order", ["plugin", "reversed"])
@pytest.mark.parametrize("quote", ['"', "'", ""])
@pytest.mark.parametrize("spaced", [False, True])
def test_the_page_is_scraped_in_any_order_and_quoting(server, provider, order, quote, spaced) -> None:
    server.attribute_order, server.quote, server.spaced = order, quote, spaced
    assert list(provider.create_completion("", HELLO))[0] == "Echo: hello there"
    assert ajax_forms(server)[0]["post_id"] == "42"  # the widget's own, not the decoy link's 7


@pytest.mark.parametrize("html, expected", [
    ('<div data-nonce="abc123" data-post-id="5"></div>', PageValues("5", "abc123")),
    ("<DIV DATA-POST-ID='5' Data-Nonce='abc123' data-bot-id='9'>", PageValues("5", "abc123", "9")),
    ("<div data-post-id=5 data-nonce=abc123 data-url=https://x.test/>",
     PageValues("5", "abc123", "0", "https://x.test/")),
    ('<p data-post-id="1"></p><div data-nonce = "abc123" data-post-id = "5">', PageValues("5", "abc123")),
    ('<p data-post-id="1"></p><div data-nonce="abc123">', PageValues("1", "abc123")),  # fallback: any post id
    ('<div data-nonce="" data-post-id="2"></div><div data-nonce="abc123" data-post-id="5">', PageValues("5", "abc123")),
])
def test_scrape_table(html, expected) -> None:
    assert scrape_page(html) == expected


@pytest.mark.parametrize("html, named, not_named", [
    ('<div data-post-id="5"></div>', ["nonce (data-nonce)"], "post_id"),
    ('<div data-nonce="abc123"></div>', ["post_id (data-post-id)"], "nonce"),
    ("<html><body>maintenance</body></html>", ["post_id (data-post-id)", "nonce (data-nonce)"], None),
])
def test_scrape_names_what_is_missing(html, named, not_named) -> None:
    with pytest.raises(ResponseError) as info:
        scrape_page(html, "https://site.test/")
    for name in named:
        assert name in str(info.value)
    if not_named:
        assert not_named not in str(info.value).split("has no", 1)[1].split("on its")[0]


@pytest.mark.parametrize("html", ['<div data-nonce="abc" data-post-id="5x">',
                                  '<div data-nonce="a b;c" data-post-id="5">'])
def test_scrape_refuses_malformed_values_without_showing_the_nonce(html) -> None:
    with pytest.raises(ResponseError) as info:
        scrape_page(html)
    assert "a b;c" not in str(info.value)


@pytest.mark.parametrize("fault, name", [("page_without_nonce", "data-nonce"),
                                         ("page_without_post_id", "data-post-id")])
def test_a_page_without_a_value_is_a_clear_error_before_any_post(server, provider, fault, name) -> None:
    setattr(server.faults, fault, True)
    with pytest.raises(ResponseError, match=name):
        list(provider.create_completion("", HELLO))
    assert (server.page_loads, server.ajax_posts) == (1, 0)


# ------------------------------------------------------------------------------ stale nonces
@pytest.mark.parametrize("style", sorted(STALE_STYLES))
@pytest.mark.parametrize("stream", [True, False])
def test_a_stale_nonce_is_scraped_again_exactly_once(server, provider, style, stream) -> None:
    server.faults.stale_style = style
    server.faults.stale_nonce_first = 1
    assert list(provider.create_completion("", HELLO, stream=stream)) == ["Echo: hello there", FinishReason("stop")]
    assert (server.page_loads, server.ajax_posts, server.stale_answers, server.answers) == (2, 2, 1, 1)
    first, second = (form["_wpnonce"] for form in ajax_forms(server))
    assert first != second  # the second post carried the new page's nonce


@pytest.mark.parametrize("style", sorted(STALE_STYLES))
def test_stale_twice_is_a_clear_error(server, provider, style) -> None:
    server.faults.stale_style = style
    server.faults.stale_nonce_first = 2
    expected = PermissionDeniedError if style in HTTP_403_STYLES else ResponseError
    with pytest.raises(expected) as info:
        list(provider.create_completion("", HELLO))
    message = str(info.value)
    assert "refused the nonce" in message and "freshly loaded page" in message
    assert (server.page_loads, server.ajax_posts, server.answers) == (2, 2, 0)
    for form in ajax_forms(server):
        assert form["_wpnonce"] not in message


@pytest.mark.parametrize("status, text, stale", [
    (403, "-1", True), (200, "-1", True),  # check_ajax_referer, in and outside an Ajax context
    (403, "The link you followed has expired.</p><p><a href='/'>Please try again.</a>", True),
    (200, '{"status":"error","msg":"Nonce verification failed"}', True),
    (200, '{"success":false,"data":"Nonce verification failed."}', True),
    (200, '{"status":"error","msg":"Incorrect API key provided."}', False),  # the plugin's own error
    (200, "0", False), (400, "0", False),  # admin-ajax.php: no handler answered / no such action
    (200, '{"status":"success","msg":"Something went wrong","data":"hi"}', False),
])
def test_what_counts_as_a_refused_nonce(status, text, stale) -> None:
    reply = _Reply(status, _parse(text), text)
    assert (_refusal(reply) is not None) is stale


@pytest.mark.parametrize("text, error", [
    ("0", ResponseError), ('{"status":"success","data":null}', ResponseError), ("[]", ResponseError),
    ('{"status":"error","data":"I dont know"}', ResponseError),  # an error text inside data is no answer
    ("<!DOCTYPE html><html><title>Log in</title></html>", BlockedError),
])
def test_unusable_answers_are_errors(text, error) -> None:
    with pytest.raises(error):
        _answer(_Reply(200, _parse(text), text), "the site")


def test_page_values_are_reused_until_the_nonce_expires(server, provider) -> None:
    for _ in range(3):
        list(provider.create_completion("", HELLO))
    assert (server.page_loads, server.ajax_posts) == (1, 3)
    server.rotate_nonce()  # time passes: every nonce issued so far has expired
    assert list(provider.create_completion("", HELLO))[0] == "Echo: hello there"
    assert (server.page_loads, server.ajax_posts, server.stale_answers) == (2, 5, 1)


def test_threads_sharing_an_instance_load_the_page_once(server, provider) -> None:
    results: list[Any] = []

    def ask() -> None:
        results.append(list(provider.create_completion("", HELLO))[0])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == ["Echo: hello there"] * 8
    assert (server.page_loads, server.ajax_posts) == (1, 8)


# ------------------------------------------------------------------------------ cookies
def test_cookies_live_on_the_instance_and_go_back_to_the_site(server, provider) -> None:
    list(provider.create_completion("", HELLO))
    list(provider.create_completion("", HELLO))
    first, second = ajax_cookies(server)
    assert f"{SESSION_COOKIE}=" in first and CONVERSATION_COOKIE not in first  # set by the page
    assert f"{SESSION_COOKIE}=" in second and f"{CONVERSATION_COOKIE}=" in second  # and by the answer
    # Another instance is another visitor: its own session, its own page load.
    with Chatgpt4o(base_url=server.base_url, timeout=TIMEOUT) as other:
        list(other.create_completion("", HELLO))
    page_requests = [r for r in server.requests if r.path == "/"]
    assert len(page_requests) == 2 and not page_requests[1].header("cookie")
    assert ajax_cookies(server)[2].split(";")[0] != first.split(";")[0]
    assert "wp_guest_session" in repr(provider._sites.get(server.base_url, {}))  # names only
    assert first.split(";")[0].split("=", 1)[1] not in repr(provider._sites.get(server.base_url, {}))


def test_a_nonce_is_bound_to_the_session_cookie(server) -> None:
    # The emulator is strict the way the nonce_user_logged_out filter makes a site: a client that
    # drops the cookie gets the nonce refused (here checked directly, with the page's own nonce).
    nonce = page_nonce(server, "session-a")
    form = {**{name: "x" for name in PLUGIN_FIELDS}, "_wpnonce": nonce, "post_id": "42",
            "action": "wpaicg_chat_shortcode_message", "message": "hi"}
    assert raw_post(server, form, cookie=f"{SESSION_COOKIE}=session-a")[0] == 200
    status, _, body = raw_post(server, form, cookie=f"{SESSION_COOKIE}=session-b")
    assert (status, body) == (200, '{"status":"error","msg":"Nonce verification failed"}')


def test_caller_cookies_are_sent_with_the_page_load(server) -> None:
    with Chatgpt4o(base_url=server.base_url, cookies={"consent": "yes"}, timeout=TIMEOUT) as p:
        list(p.create_completion("", HELLO, cookies={"lang": "en"}))
    page = next(r for r in server.requests if r.path == "/")
    assert page.header("cookie") == "consent=yes; lang=en"


def test_caller_headers_reach_both_requests_and_win(server) -> None:
    with Chatgpt4o(base_url=server.base_url, headers={"User-Agent": "my-agent/1"}, timeout=TIMEOUT) as p:
        list(p.create_completion("", HELLO, headers={"X-Test": "1"}))
    assert [(r.path, r.header("user-agent"), r.header("x-test")) for r in server.requests] == [
        ("/", "my-agent/1", "1"), (AJAX, "my-agent/1", "1")]


# ------------------------------------------------------------------------------ failures
def test_unknown_keyword_fails_before_any_request(server, provider) -> None:
    with pytest.raises(UnknownParameterError):
        provider.create_completion("", HELLO, temprature=0.5)
    with pytest.raises(UnknownParameterError):
        Chatgpt4o(base_url=server.base_url, nonce="x")
    assert not server.requests and server.page_loads == 0


@pytest.mark.parametrize("messages, kwargs", [
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}], {}),
    ([{"role": "user", "content": "   "}], {}),
    ([], {}),
    (HELLO, {"api_key": "sk-not-needed"}),
    (HELLO, {"cookies": "session=1"}),
])
def test_bad_input_fails_before_any_request(server, provider, messages, kwargs) -> None:
    with pytest.raises(InvalidRequestError):
        provider.create_completion("", messages, **kwargs)
    assert not server.requests


@pytest.mark.parametrize("fault", ["challenge_page", "challenge_ajax"])
@pytest.mark.parametrize("status", [403, 200])
def test_a_challenge_page_is_blocked_not_retried_as_a_stale_nonce(server, provider, fault, status) -> None:
    setattr(server.faults, fault, True)
    server.faults.challenge_status = status
    with pytest.raises(BlockedError) as info:
        list(provider.create_completion("", HELLO))
    assert info.value.kind == "cloudflare"
    assert server.page_loads == 1 and server.ajax_posts == (1 if fault == "challenge_ajax" else 0)


def test_success_false_with_a_message_rescrapes_once_then_says_it(server, provider) -> None:
    server.faults.success_false = "Daily limit reached"
    with pytest.raises(ResponseError, match="Daily limit reached"):
        list(provider.create_completion("", HELLO))
    assert (server.page_loads, server.ajax_posts) == (2, 2)


def test_the_plugins_own_error_is_reported_without_a_rescrape(server, provider) -> None:
    server.faults.plugin_error = "Incorrect API key provided."
    with pytest.raises(ResponseError, match="Incorrect API key provided"):
        list(provider.create_completion("", HELLO))
    assert (server.page_loads, server.ajax_posts) == (1, 1)


@pytest.mark.parametrize("stream", [True, False])
def test_empty_data_is_an_error_not_an_empty_answer(server, provider, stream) -> None:
    server.faults.empty_data = True
    chunks: list[Any] = []
    with pytest.raises(ResponseError, match="without answer text"):
        chunks.extend(provider.create_completion("", HELLO, stream=stream))
    assert chunks == []


def test_secrets_stay_out_of_reprs(server, provider) -> None:
    list(provider.create_completion("", HELLO))
    nonce = ajax_forms(server)[0]["_wpnonce"]
    site = provider._sites.get(server.base_url, {})
    assert nonce not in repr(provider) and nonce not in repr(site) and nonce not in repr(site.values)
    clone = pickle.loads(pickle.dumps(provider._sites))  # learned state stays in this process
    assert repr(clone.get(server.base_url, {})) == "_Site(values=None, cookies=[])"


# ------------------------------------------------------------------------------ the emulator's strictness
def raw_post(server: Chatgpt4oEmulator, form: dict[str, str], cookie: str = "") -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["cookie"] = cookie
        connection.request("POST", AJAX, body=urlencode(form), headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("content-type") or "", response.read().decode()
    finally:
        connection.close()


def test_emulator_answers_like_wordpress_and_the_plugin(server) -> None:
    good = {**{name: "x" for name in PLUGIN_FIELDS}, "_wpnonce": page_nonce(server, ""), "post_id": "42",
            "action": "wpaicg_chat_shortcode_message", "message": "hi"}
    assert raw_post(server, {})[::2] == (400, "0")  # no action: wp_die('0', 400)
    assert raw_post(server, {**good, "action": "nope"})[::2] == (400, "0")
    status, content_type, body = raw_post(server, good)
    assert (status, content_type) == (200, "application/json; charset=UTF-8")
    assert body == '{"status": "success", "msg": "Something went wrong", "data": "Echo: hi"}'
    assert NOTHING_INPUTTED in raw_post(server, {**good, "message": " \n "})[2]
    assert raw_post(server, {k: v for k, v in good.items() if k != "bot_id"})[0] == 400
    assert raw_post(server, {**good, "post_id": "7"})[0] == 400
    server.faults.stale_style = "admin_referer"
    assert raw_post(server, {**good, "_wpnonce": "0123456789"})[::2] == (403, "The link you followed has expired.")
    server.faults.stale_style = "ajax_referer"
    assert raw_post(server, {k: v for k, v in good.items() if k != "_wpnonce"})[::2] == (403, "-1")
    with pytest.raises(ValueError):
        server.faults.stale_style = "guessed"
    # The browser's FormData arrives as multipart/form-data; $_REQUEST reads it the same.
    multipart = requests.post(server.base_url + AJAX, files={k: (None, v) for k, v in good.items()}, timeout=5)
    assert multipart.json()["data"] == "Echo: hi"
