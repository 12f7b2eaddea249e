"""Notebook display: the live view in a real Jupyter kernel, rich reprs, and the safety of both.

The kernel tests execute notebooks with nbclient + ipykernel and assert on the iopub messages the
kernel sent (``display_data`` with ``transient.display_id``, ``update_display_data``). The emulators
run here, in the pytest process, on 127.0.0.1; the notebook sources get their base URLs. Kernel
startup is slow, so two kernels run in all: one notebook of several cells, and the example tour.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Generator

import pytest

from chatgpt_sync import (
    APIConnectionError, AuthenticationError, Client, ConversationHistory, HistoryMessage, ImageResponse,
    OpenaiTemplate, Reasoning, Refusal, Sources, Stream, ToolCalls,
)
from chatgpt_sync._client_types import ChatCompletionChunk, ChoiceDelta, ChoiceDeltaToolCall, \
    ChoiceDeltaToolCallFunction, ChunkChoice
from chatgpt_sync._render import answer_markdown, escape_markdown
from chatgpt_sync._transcript import Transcript
from chatgpt_sync.errors import InvalidRequestError
from chatgpt_sync.notebook import Audio, Image
from chatgpt_sync.testing import OpenAIEmulator

from conftest import API_KEY, USER, wait_until

ROOT = Path(__file__).resolve().parent.parent
ECHO = "Echo: hello world"
# Our own tags; once they are removed, no "<" of the model's text may be left.
OUR_TAGS = re.compile(r'</?code( class="language-[\w+#.-]*")?>|</?pre>')


def tokens(count: int) -> str:
    return "".join(f" tok{i}" for i in range(count))


# ------------------------------------------------------------------------- no kernel: imports
def test_importing_the_package_never_imports_ipython() -> None:
    code = ("import sys, chatgpt_sync; from chatgpt_sync import ChatGpt, Stream; import chatgpt_sync.notebook; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('IPython', 'ipykernel')))")
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
    assert "IPython" not in result.stderr and "chatgpt_sync.notebook" in result.stderr


def test_plain_iteration_stays_the_bare_generator(openai_server: OpenAIEmulator) -> None:
    stream = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY).create_completion(
        "gpt-4o-mini", USER, stream=True)
    pieces = iter(stream)
    assert type(pieces).__name__ == "generator" and iter(stream) is pieces  # no per-item wrapper
    assert "".join(p for p in pieces if isinstance(p, str)) == ECHO
    assert stream.transcript is None and stream.partial_text == ""  # iteration keeps nothing
    assert "`.display()`" in stream._repr_markdown_() and repr(stream) == "<Stream finished>"


# ------------------------------------------------------------------------- no kernel: display
def test_display_outside_a_notebook_prints_as_it_arrives(openai_server: OpenAIEmulator,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY)
    stream = provider.create_completion("gpt-4o-mini", [{"role": "user", "content": "<b>hi</b>"}], stream=True)
    assert stream.display() == "Echo: <b>hi</b>"
    assert capsys.readouterr().out == "Echo: <b>hi</b>\n"
    assert stream.partial_text == "Echo: <b>hi</b>" and stream.transcript is not None
    assert stream.transcript.state == "done" and stream.transcript.finish_reason == "stop"
    assert stream._repr_markdown_() == "Echo: &lt;b>hi&lt;/b>"
    assert stream.display() == "Echo: <b>hi</b>"  # shown again from what it kept
    refused = provider.create_completion("gpt-4o-mini", [{"role": "user", "content": "REFUSE"}], stream=True)
    assert refused.display() == ""
    assert capsys.readouterr().out == "Echo: <b>hi</b>\nRefused: I can't help with that.\n"


def test_the_client_stream_displays_too(openai_server: OpenAIEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    with Client(base_url=openai_server.base_url, api_key=API_KEY) as client:
        stream = client.chat.completions.create(model="deepseek-reasoner", messages=USER, stream=True)
        assert stream.display() == ECHO
        assert capsys.readouterr().out == ECHO + "\n"
        markdown = stream._repr_markdown_()
        assert markdown.startswith("<details><summary>Reasoning</summary>") and markdown.endswith(ECHO)
        completion = client.chat.completions.create(model="deepseek-reasoner", messages=USER)
        shown = completion._repr_markdown_()
        assert "Thinking about it." in shown and ECHO in shown and "model deepseek-reasoner" in shown


def _pieces(*items: Any, end: BaseException | None = None, closed: list[bool]) -> Generator[Any, None, None]:
    try:
        yield from items
        if end is not None:
            raise end
    finally:
        closed.append(True)


def test_an_interrupt_closes_the_stream_and_keeps_the_partial_text(capsys: pytest.CaptureFixture[str]) -> None:
    closed: list[bool] = []
    stream = Stream(_pieces("Hel", "lo", end=KeyboardInterrupt(), closed=closed))
    with pytest.raises(KeyboardInterrupt):
        stream.display()
    assert closed == [True] and stream.partial_text == "Hello"
    assert stream.transcript is not None and stream.transcript.state == "interrupted"
    assert capsys.readouterr().out == "Hello\n[interrupted]\n"
    assert "interrupted" in stream._repr_markdown_()
    assert stream.text() == "Hello"  # the stream is closed; what arrived stays


def test_an_error_mid_stream_is_kept_and_shown(openai_server: OpenAIEmulator) -> None:
    openai_server.faults.drop_after = 3
    stream = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, max_retries=0).create_completion(
        "gpt-4o-mini", USER, stream=True)
    with pytest.raises(APIConnectionError) as caught:
        stream.text()
    assert stream.partial_text and ECHO.startswith(stream.partial_text)
    assert caught.value.partial_text == stream.partial_text
    assert "APIConnectionError" in stream._repr_markdown_()
    assert wait_until(lambda: openai_server.connections_open == 0)


def test_a_stream_read_by_plain_iteration_is_refused_not_shown_partly(openai_server: OpenAIEmulator,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Plain iteration keeps nothing, so display()/text() afterwards would show only the rest (or
    nothing): a clear error instead, before anything is printed."""
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY)
    whole = provider.create_completion("gpt-4o-mini", USER, stream=True)
    for _ in whole:
        pass
    for method in (whole.display, whole.text):
        with pytest.raises(InvalidRequestError, match="already read to its end by iterating"):
            method()
    part = provider.create_completion("gpt-4o-mini", USER, stream=True)
    next(part)
    with pytest.raises(InvalidRequestError, match="already partly read"):
        part.display()
    part.close()
    client = Client(base_url=openai_server.base_url, api_key=API_KEY)
    chunks = client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    for _ in chunks:
        pass
    with pytest.raises(InvalidRequestError, match="already read to its end"):
        chunks.display()
    assert capsys.readouterr().out == ""
    # display() first, then again: the same answer both times, and one request in all.
    before = openai_server.chat_requests
    shown = provider.create_completion("gpt-4o-mini", USER, stream=True)
    assert shown.display() == ECHO and shown.display() == ECHO and shown.text() == ECHO
    assert openai_server.chat_requests == before + 1


def test_the_repr_says_how_a_stream_ended() -> None:
    stream = Stream(_pieces("Hel", end=KeyboardInterrupt(), closed=[]))
    with pytest.raises(KeyboardInterrupt):
        stream.text()
    assert repr(stream) == "<Stream interrupted, 3 characters kept>"
    done = Stream(_pieces("Hello", closed=[]))
    assert repr(done) == "<Stream not started>"
    done.text()
    assert repr(done) == "<Stream done, 5 characters kept>"


def test_display_rejects_a_bad_interval() -> None:
    closed: list[bool] = []
    with pytest.raises(InvalidRequestError):
        Stream(_pieces("x", closed=closed)).display(interval=-1)


def test_tool_call_fragments_of_the_client_stream_are_joined() -> None:
    transcript = Transcript()
    for name, arguments in (("get_weather", '{"q": '), (None, '"Paris"}')):
        call = ChoiceDeltaToolCall(0, "call_1" if name else None, "function",
                                   ChoiceDeltaToolCallFunction(name, arguments))
        transcript.add_chunk(ChatCompletionChunk("c", [ChunkChoice(0, ChoiceDelta(tool_calls=[call]))], 0, "m"))
    transcript.add_chunk(ChatCompletionChunk("c", [ChunkChoice(0, ChoiceDelta(), "tool_calls")], 0, "m"))
    assert transcript.tool_calls == [{"id": "call_1", "type": "function",
                                      "function": {"name": "get_weather", "arguments": '{"q": "Paris"}'}}]
    assert transcript.finish_reason == "tool_calls"


# ------------------------------------------------------------------------- no kernel: escaping
HOSTILE = [
    "<script>alert(1)</script>",
    "hi <img src=x onerror=alert(1)>",
    '`<a href="`">`',  # CommonMark: the HTML tag wins over the code span
    '`<img src=x onerror=alert(1) title="` `">`',
    "\\`<img src=x onerror=alert(1)>`",
    "- ```\n  ```\n<img src=x onerror=alert(1)>",
    "```\n<b>in a fence</b>\n```\n<i>after</i>",
    "~~~\nunclosed <svg onload=alert(1)>",
    "    <img src=x onerror=alert(1)>",
    "> ```\n> <img src=x onerror=alert(1)>",
    "<!-- comment --><?php ?><![CDATA[x]]>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_model_text_never_opens_an_html_tag(text: str) -> None:
    assert "<" not in OUR_TAGS.sub("", escape_markdown(text))


def test_code_keeps_its_characters() -> None:
    assert escape_markdown("use `a<b` here") == "use <code>a&#60;b</code> here"
    fenced = escape_markdown("Code:\n```python\nif a < b:\n    print('<x>')\n```\nDone & dusted")
    assert fenced == ("Code:\n\n<pre><code class=\"language-python\">if a &#60; b&#58;\n    print&#40;&#39;&#60;x&#62;"
                      "&#39;&#41;</code></pre>\n\nDone &amp; dusted")
    assert escape_markdown("# Title\n\n*emphasis* and **bold**") == "# Title\n\n*emphasis* and **bold**"


def test_script_links_are_defused() -> None:
    for link in ("[x](javascript:alert(1))", "[x](JavaScript\\:alert(1))", "[x]: vbscript:msgbox"):
        assert not re.search(r"(?i)(java|vb)script\s*\\?:", escape_markdown(link))
    assert "java&amp;#115;cript" in escape_markdown("[x](java&#115;cript:alert(1))")


# ------------------------------------------------------------------------- no kernel: reprs
def test_response_object_reprs_escape_their_text() -> None:
    reasoning = Reasoning("a <b> c")._repr_html_()
    assert reasoning.startswith("<details><summary>Reasoning</summary>") and "a &lt;b&gt; c" in reasoning
    assert "<strong>Refused:</strong>" in Refusal("no <way>")._repr_html_()
    assert "no &lt;way&gt;" in Refusal("no <way>")._repr_html_()
    calls = ToolCalls([{"id": "call_0", "type": "function", "function": {"name": "f<", "arguments": '{"a": "<"}'}}])
    assert "<code>f&lt;</code>" in calls._repr_html_() and "&quot;&lt;&quot;" in calls._repr_html_()


def test_images_show_inline_and_only_loadable_urls_become_images() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    html = ImageResponse([png, "https://example.test/a.png?x=1&y=2", "javascript:alert(1)",
                          "file-service://file-abc"], alt='a "cat"')._repr_html_()
    assert html.count("<img ") == 2 and f'src="{png}"' in html
    assert 'src="https://example.test/a.png?x=1&amp;y=2"' in html
    assert 'alt="a &quot;cat&quot;"' in html
    assert "<code>javascript:alert(1)</code>" in html and "<code>file-service://file-abc</code>" in html


def test_sources_link_only_web_addresses() -> None:
    html = Sources([{"url": "https://example.test/?a=1&b=2", "title": "<Example>"},
                    {"url": "javascript:alert(1)", "title": "bad"}])._repr_html_()
    assert '<a href="https://example.test/?a=1&amp;b=2"' in html and "&lt;Example&gt;" in html
    assert "javascript" not in html and "<li>bad</li>" in html


def test_conversation_history_reads_as_a_transcript() -> None:
    history = ConversationHistory("conv-1", "Planets", "m3", [
        HistoryMessage("m0", "system", "secret system prompt", hidden=True),
        HistoryMessage("m1", "user", "Name a <planet>"),
        HistoryMessage("m2", "assistant", "Mars", images=["https://example.test/mars.png"]),
    ])
    html = history._repr_html_()
    assert "<strong>Planets</strong>" in html and "Name a &lt;planet&gt;" in html
    assert html.index("user") < html.index("Mars") and '<img src="https://example.test/mars.png"' in html
    assert "secret system prompt" not in html and "1 hidden message(s)" in html


def test_reasoning_is_open_while_it_streams_and_collapsed_once_the_answer_starts() -> None:
    transcript = Transcript()
    transcript.add(Reasoning("Let me think"))
    assert answer_markdown(transcript, live=True).startswith("<details open><summary>Reasoning</summary>")
    transcript.add("Answer")
    live = answer_markdown(transcript, live=True)
    assert live.startswith("<details><summary>") and live.endswith("Answer\n\n▌")
    transcript.stop(None)
    assert answer_markdown(transcript).endswith("</details>\n\nAnswer")


def test_error_reprs_say_what_to_do_and_never_show_secrets() -> None:
    error = AuthenticationError("bad key sk-abcdefghijklmnop0123 <x>", status_code=401, request_id="req_1",
                                partial_text="so far <b>")
    html = error._repr_html_()
    assert "<strong>AuthenticationError</strong>" in html and "HTTP 401 · request id req_1" in html
    assert "sk-abcdefghijklmnop0123" not in html and "[redacted]" in html and "&lt;x&gt;" in html
    assert "<em>What to do:</em> Check the API key" in html and "so far &lt;b&gt;" in html


def test_audio_and_image_helpers() -> None:
    closed: list[bool] = []
    audio = Audio(_pieces(b"ab", b"cd", closed=closed), format="mp3")
    assert closed == [True] and audio.data == b"abcd"  # a streamed body is read and released
    assert audio._repr_html_() == '<audio controls src="data:audio/mpeg;base64,YWJjZA=="></audio>'
    with pytest.raises(InvalidRequestError):
        Audio(b"x", format="exe")
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGMQWFz/HwAE"
                           "KwIyz2OtkgAAAABJRU5ErkJggg==")
    image = Image(png, alt="dot")
    assert image._repr_png_() == png and 'src="data:image/png;base64,' in image._repr_html_()
    assert Image("https://example.test/x.jpg")._repr_png_() is None
    both = ImageResponse(["https://example.test/1.png", "https://example.test/2.png"])
    assert Image(both)._repr_html_().count("<img") == 2
    with pytest.raises(InvalidRequestError):
        Image(b"not an image")


# ------------------------------------------------------------------------- a real kernel
try:
    import ipykernel  # noqa: F401  (the kernel the notebooks run in)
    import nbclient
    import nbformat
except ImportError:  # pragma: no cover - the test extras are not installed
    pytest.skip("nbclient, nbformat and ipykernel are needed for the kernel tests", allow_module_level=True)


class RecordingClient(nbclient.NotebookClient):
    """Keeps every iopub message by cell; interrupts the kernel when ``interrupt_when`` says so."""

    def __init__(self, nb: Any, interrupt_when: Callable[[int, dict[str, Any]], bool] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(nb, timeout=30, kernel_name="python3", **kwargs)
        self.messages: list[tuple[int, dict[str, Any]]] = []
        self.interrupt_when = interrupt_when
        self.interrupts: list[asyncio.Future[Any]] = []

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.messages.append((cell_index, msg))
        if not self.interrupts and self.interrupt_when is not None and self.interrupt_when(cell_index, msg):
            self.interrupts.append(asyncio.ensure_future(self.km.interrupt_kernel()))  # SIGINT, as Jupyter's button
        return super().process_message(msg, cell, cell_index)

    def of(self, cell: int, *kinds: str) -> list[dict[str, Any]]:
        return [m for i, m in self.messages if i == cell and m["msg_type"] in kinds]


def _notebook(*sources: str, tags: dict[int, list[str]] | None = None) -> Any:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for index, cell_tags in (tags or {}).items():
        cells[index].metadata["tags"] = cell_tags
    return nbformat.v4.new_notebook(cells=cells)


def _markdown(msg: dict[str, Any]) -> str:
    return str(msg["content"]["data"]["text/markdown"])


def _stdout(client: RecordingClient, cell: int) -> str:
    return "".join(m["content"]["text"] for m in client.of(cell, "stream") if m["content"]["name"] == "stdout")


def test_display_in_a_kernel_updates_one_display_in_place() -> None:
    with OpenAIEmulator(api_key=API_KEY, stream_tokens=120) as fast, OpenAIEmulator(api_key=API_KEY) as echo, \
            OpenAIEmulator(api_key=API_KEY, stream_tokens=50) as stalled:
        fast.faults.stall_after, fast.faults.stall_seconds = 40, 0.35  # a pause mid-stream: one update shows
        stalled.faults.stall_after, stalled.faults.stall_seconds = 6, 20
        ask = '[{"role": "user", "content": "go"}]'
        stream_cell = (f"s1 = fast.create_completion('gpt-4o-mini', {ask}, stream=True)\n"
                       "answer = s1.display(interval=0.1)\nprint(len(answer))")
        nb = _notebook(
            "from chatgpt_sync import AuthenticationError, Client, OpenaiTemplate\n"
            f"fast = OpenaiTemplate(base_url={fast.base_url!r}, api_key={API_KEY!r}, timeout=20)\n"
            f"client = Client(base_url={echo.base_url!r}, api_key={API_KEY!r})",
            stream_cell,                                                                  # 1
            "s1",                                                                         # 2
            stream_cell,                                                                  # 3: run twice
            "print(s1.display() == answer)",                                              # 4: shown again
            "client.chat.completions.create(model='deepseek-reasoner', stream=True, messages=[\n"
            "    {'role': 'user', 'content': '<img src=x onerror=alert(1)>'}]).display();",  # 5
            "client.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'REFUSE'}])",
            "try:\n"
            f"    OpenaiTemplate(base_url={echo.base_url!r}, api_key='sk-wrong-0123456789abcdef').create_completion(\n"
            f"        'gpt-4o-mini', {ask}).text()\n"
            "except AuthenticationError as exc:\n    error = exc\nerror",                # 7
            f"slow = OpenaiTemplate(base_url={stalled.base_url!r}, api_key={API_KEY!r}, timeout=30)\n"
            f"s2 = slow.create_completion('gpt-4o-mini', {ask}, stream=True)\n"
            "s2.display(interval=0)",                                                     # 8: interrupted
            "print(s2.partial_text, s2.transcript.state, repr(s2), sep='|')",             # 9
            tags={8: ["raises-exception"]})
        released: list[bool] = []

        def interrupt_when(cell: int, msg: dict[str, Any]) -> bool:
            return (cell == 8 and msg["msg_type"] == "update_display_data"
                    and " tok3" in msg["content"]["data"]["text/plain"])

        def before_cell(cell: Any, cell_index: int) -> None:
            if cell_index == 9:  # the kernel is alive: has it let go of the stalled connection?
                stalled.stopping.set()  # end the stall: the server writes on, and sees the hang-up
                released.append(wait_until(lambda: stalled.connections_open == 0, timeout=5))

        client = RecordingClient(_notebook_copy(nb), interrupt_when=interrupt_when, on_cell_start=before_cell)
        client.execute()

    final = tokens(120)
    for cell in (1, 3):
        shown = client.of(cell, "display_data")
        updates = client.of(cell, "update_display_data")
        assert len(shown) == 1 and _markdown(shown[0]) == "▌"
        display_id = shown[0]["content"]["transient"]["display_id"]
        assert display_id and all(u["content"]["transient"]["display_id"] == display_id for u in updates)
        assert 2 <= len(updates) <= 12, len(updates)  # throttled: 120 tokens, a handful of updates
        middle = [_markdown(u) for u in updates[:-1]]
        assert any(m.endswith("▌") and final.startswith(m[:-1].rstrip()) and len(m) < len(final) for m in middle)
        assert _markdown(updates[-1]) == final and updates[-1]["content"]["data"]["text/plain"] == final
        assert _stdout(client, cell) == f"{len(final)}\n"
    first_id = client.of(1, "display_data")[0]["content"]["transient"]["display_id"]
    assert client.of(3, "display_data")[0]["content"]["transient"]["display_id"] != first_id

    (result,) = client.of(2, "execute_result")
    assert result["content"]["data"]["text/markdown"] == final
    assert _stdout(client, 4) == "True\n" and _markdown(client.of(4, "update_display_data")[-1]) == final

    client_final = _markdown(client.of(5, "update_display_data")[-1])
    assert client_final.startswith("<details><summary>Reasoning</summary>")
    assert "Echo: &lt;img src=x onerror=alert(1)>" in client_final and "<img" not in client_final
    assert not client.of(5, "execute_result")  # `;` after display(): the text is not echoed

    (completion,) = client.of(6, "execute_result")
    assert "> **Refused:** I can't help with that." in completion["content"]["data"]["text/markdown"]
    (error,) = client.of(7, "execute_result")
    html = error["content"]["data"]["text/html"]
    assert "<strong>AuthenticationError</strong>" in html and "HTTP 401" in html and "What to do" in html
    assert "sk-wrong-0123456789abcdef" not in html

    (interrupt,) = client.of(8, "error")
    assert interrupt["content"]["ename"] == "KeyboardInterrupt"
    last = client.of(8, "update_display_data")[-1]
    assert "interrupted" in _markdown(last) and not _markdown(last).endswith("▌")
    assert last["content"]["data"]["text/plain"].startswith(" tok0 tok1 tok2 tok3")
    partial, state, shown = _stdout(client, 9).rstrip("\n").split("|")
    assert partial.startswith(" tok0 tok1 tok2 tok3") and " tok49" not in partial
    assert state == "interrupted" and shown == f"<Stream interrupted, {len(partial)} characters kept>"
    assert released == [True] and stalled.chat_requests == 1  # closed at once, and not sent again


def _notebook_copy(nb: Any) -> Any:
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def test_the_example_notebook_runs_offline() -> None:
    path = ROOT / "examples" / "notebook.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in nb.cells if cell.cell_type == "code"), "commit the tour with its outputs cleared"
    client = RecordingClient(nb, resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [m for _, m in client.messages if m["msg_type"] == "error"]
    assert not errors, errors
    outputs = [json.dumps(output) for cell in nb.cells for output in cell.get("outputs", [])]
    everything = "\n".join(outputs)
    for expected in ("<details><summary>Reasoning</summary>", "Echo: Say *hello* in **Markdown**",  # streaming
                     "Turn 2.", "<strong>assistant</strong>", "<audio controls src=\\\"data:audio/aac;base64,",
                     "**Tool call** <code>get&#95;weather</code>", "Echo: Weather in Paris?",  # tool round
                     "<img src=\\\"data:image/png;base64,", "Echo: Hi from the client", "Echo: Stream it",
                     "<strong>AuthenticationError</strong>"):
        assert expected in everything, expected
    assert "sk-wrong-0123456789abcdef" not in everything
    live = [m for _, m in client.messages if m["msg_type"] == "display_data" and m["content"].get("transient")]
    assert live and all(m["content"]["transient"]["display_id"] for m in live)
