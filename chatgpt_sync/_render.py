"""Answers as Markdown a notebook can show safely. No IPython here: reprs use it too.

A model's text is Markdown, so it is shown as Markdown; but it is not trusted. Jupyter renders raw
HTML inside trusted Markdown output (scripts and event handlers included), and a prompt injection can
make a model write some. So no ``<`` of the model's text ever reaches the Markdown renderer as ``<``:
it is escaped everywhere, and code (fenced blocks, inline spans), where an entity would show
literally, is rewritten as our own ``<pre><code>`` / ``<code>`` holding the code entity-encoded.
Whatever the renderer makes of the structure, the model's text cannot open a tag: at worst code
shows entities, never runs.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, List

from ._redact import redact_text
from ._transcript import Transcript
from ._html import html_escape, images_html, link_href

__all__ = ["escape_markdown", "answer_markdown", "answer_plain", "completion_markdown"]

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_BACKTICKS = re.compile(r"`+")
# Link targets that run code when clicked; a zero-width space makes them plain relative links.
_SCRIPT_SCHEME = re.compile(r"(?i)(java|vb)(script\s*\\?:)")
_LANGUAGE = re.compile(r"[^\w+#.-]")


def _encode_code(code: str) -> str:
    """Code as entities: shown as is inside our tags, and no Markdown syntax left in it."""
    return "".join(ch if ch.isalnum() or ch in " \n\t" or ord(ch) > 127 else f"&#{ord(ch)};" for ch in code)


def _escape_text(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _SCRIPT_SCHEME.sub("\\1\u200b\\2", text)


def _escape_line(line: str) -> str:
    """One line outside fenced code: inline code spans become ``<code>``; the rest is escaped."""
    out: List[str] = []
    runs = list(_BACKTICKS.finditer(line))
    position = index = 0
    while index < len(runs):
        run = runs[index]
        backslashes = len(line[:run.start()]) - len(line[:run.start()].rstrip("\\"))
        closer = None
        if backslashes % 2 == 0:  # an escaped backtick opens nothing
            closer = next((j for j in range(index + 1, len(runs))
                           if len(runs[j].group()) == len(run.group())), None)
        if closer is None:
            index += 1
            continue
        code = line[run.end():runs[closer].start()]
        if code.startswith(" ") and code.endswith(" ") and code.strip():
            code = code[1:-1]
        out.append(_escape_text(line[position:run.start()]))
        out.append(f"<code>{_encode_code(code)}</code>")
        position = runs[closer].end()
        index = closer + 1
    out.append(_escape_text(line[position:]))
    return "".join(out)


def _code_block(code: str, language: str = "") -> str:
    language = _LANGUAGE.sub("", language)[:30]
    css = f' class="language-{language}"' if language else ""
    return f"<pre><code{css}>{_encode_code(code)}</code></pre>"


def escape_markdown(text: str) -> str:
    """The model's Markdown, with no way left for its text to open an HTML tag (see the module doc)."""
    out: List[str] = []
    fence: tuple[str, int] | None = None
    language = ""
    code: List[str] = []
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        found = _FENCE.fullmatch(bare)
        if fence is not None:
            if (found and found.group(1)[0] == fence[0] and len(found.group(1)) >= fence[1]
                    and not found.group(2).strip()):
                out.append("\n" + _code_block("".join(code).rstrip("\r\n"), language) + "\n\n")
                fence, code = None, []
            else:
                code.append(line)
            continue
        if found and not (found.group(1)[0] == "`" and "`" in found.group(2)):
            fence, language = (found.group(1)[0], len(found.group(1))), found.group(2).strip().split(" ")[0]
            continue
        out.append(_escape_line(bare) + line[len(bare):])
    if fence is not None:  # still streaming (or never closed): show what there is as code
        out.append("\n" + _code_block("".join(code).rstrip("\r\n"), language) + "\n")
    return "".join(out)


def _blockquote(markdown: str) -> str:
    return "\n".join("> " + line for line in markdown.split("\n"))


def _reasoning_html(text: str, open_: bool) -> str:
    # One line of HTML (newlines as entities): a blank line would end the HTML block mid-way.
    body = html_escape(text).replace("\n", "&#10;")
    return (f'<details{" open" if open_ else ""}><summary>Reasoning</summary>'
            f'<div style="opacity:0.7;white-space:pre-wrap">{body}</div></details>')


def _tool_calls_markdown(calls: Iterable[dict[str, Any]]) -> List[str]:
    blocks = []
    for call in calls:
        function = call.get("function") or {}
        name = _encode_code(str(function.get("name") or ""))
        blocks.append(f"**Tool call** <code>{name}</code>\n\n" + _code_block(str(function.get("arguments") or "")))
    return blocks


def _sources_markdown(sources: Iterable[dict[str, Any]]) -> str:
    lines = []
    for number, source in enumerate(sources, 1):
        url = str(source.get("url") or "")
        title = _escape_line(str(source.get("title") or url or "source").replace("\n", " "))
        href = link_href(url)
        lines.append(f'{number}. <a href="{html_escape(href)}">{title}</a>' if href else f"{number}. {title}")
    return "**Sources**\n\n" + "\n".join(lines)


def _footer(t: Transcript) -> str:
    notes = []
    if t.state == "interrupted":
        notes.append("⏹ interrupted: the answer above is partial")
    elif t.state == "error" and t.error is not None:
        message = _escape_line(redact_text(str(t.error)).replace("\n", " "))
        notes.append(f"⚠ {type(t.error).__name__}: {message}")
    elif t.state == "done" and t.finish_reason not in (None, "stop", "tool_calls"):
        notes.append(f"finish reason: {_escape_line(str(t.finish_reason))}")
    return "*" + " · ".join(notes) + "*" if notes else ""


def answer_markdown(t: Transcript, *, live: bool = False) -> str:
    """The whole answer as Markdown: reasoning (collapsed once the answer starts), text, refusal,
    tool calls, images, other choices, sources, and a note on how the stream ended."""
    blocks: List[str] = []
    answering = bool(t.parts or t.refusal or t.tool_calls or t.images)
    if t.reasoning:
        blocks.append(_reasoning_html("".join(t.reasoning), open_=live and not answering))
    if t.parts:
        blocks.append(escape_markdown(t.text))
    if t.refusal:
        blocks.append(_blockquote("**Refused:** " + escape_markdown("".join(t.refusal))))
    blocks.extend(_tool_calls_markdown(t.tool_calls))
    blocks.extend(images_html(image.urls, image.alt) for image in t.images)
    for index in sorted(t.choices):
        blocks.append(f"**Choice {index}**\n\n" + escape_markdown("".join(t.choices[index])))
    if t.sources:
        blocks.append(_sources_markdown(t.sources))
    footer = _footer(t)
    if footer:
        blocks.append(footer)
    if live and t.state == "streaming":
        blocks.append("▌")
    return "\n\n".join(blocks)


def answer_plain(t: Transcript) -> str:
    """The answer as plain text (``text/plain`` beside the Markdown)."""
    lines = [t.text] if t.parts else []
    if t.refusal:
        lines.append("Refused: " + "".join(t.refusal))
    for call in t.tool_calls:
        function = call.get("function") or {}
        lines.append(f"[tool call: {function.get('name')}({function.get('arguments') or ''})]")
    lines.extend(f"[image: {url[:80]}]" for image in t.images for url in image.urls)
    if t.state == "interrupted":
        lines.append("[interrupted]")
    elif t.state == "error" and t.error is not None:
        lines.append(f"[{type(t.error).__name__}: {redact_text(str(t.error))}]")
    return "\n".join(lines)


def completion_markdown(completion: Any) -> str:
    """A Client ``ChatCompletion``: each choice's message, then model, finish reason and usage."""
    blocks: List[str] = []
    several = len(completion.choices) > 1
    for choice in completion.choices:
        message = choice.message
        if several:
            blocks.append(f"**Choice {choice.index}**")
        if message.reasoning_content:
            blocks.append(_reasoning_html(message.reasoning_content, open_=False))
        if message.content:
            blocks.append(escape_markdown(message.content))
        if message.refusal:
            blocks.append(_blockquote("**Refused:** " + escape_markdown(message.refusal)))
        blocks.extend(_tool_calls_markdown(call.to_dict() for call in message.tool_calls or ()))
    facts = [f"model {completion.model}"] if completion.model else []
    reasons = sorted({str(c.finish_reason) for c in completion.choices if c.finish_reason})
    if reasons:
        facts.append("finish " + "/".join(reasons))
    usage = completion.usage
    if usage is not None and usage.total_tokens is not None:
        facts.append(f"{usage.prompt_tokens} + {usage.completion_tokens} = {usage.total_tokens} tokens")
    if facts:
        blocks.append("<small>" + _escape_line(" · ".join(facts)) + "</small>")
    return "\n\n".join(blocks)
