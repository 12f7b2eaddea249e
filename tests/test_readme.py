"""The README's marked snippets run, offline, and print what the README says they print.

A fenced block right after a ``<!-- readme-test -->`` line is run (``python`` blocks with this
interpreter, ``bash`` blocks with this virtualenv's ``bin`` first on PATH), in an empty directory
with no credentials in the environment. When a block marked ``<!-- readme-output -->`` follows it,
standard output must equal that block.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"<!-- readme-(test|output) -->\n```(\w*)\n(.*?)\n```", re.S)


@dataclass
class Snippet:
    line: int
    language: str
    code: str
    expected: str | None = None


def _snippets() -> list[Snippet]:
    text = README.read_text(encoding="utf-8")
    found: list[Snippet] = []
    for match in _FENCE.finditer(text):
        kind, language, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        if kind == "test":
            found.append(Snippet(line, language, body))
        else:
            assert found and found[-1].expected is None, f"README.md:{line}: output block without a snippet"
            found[-1].expected = body
    return found


SNIPPETS = _snippets()


def test_the_readme_has_tested_snippets_in_the_sections_that_promise_them() -> None:
    text = README.read_text(encoding="utf-8")
    for heading in ("## On the command line", "## In a notebook", "## Many prompts, many processes"):
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        assert "<!-- readme-test -->" in text[start:end if end > 0 else None], heading


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"README.md:{s.line}" for s in SNIPPETS])
def test_readme_snippet_runs(snippet: Snippet, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATGPT_SYNC_", "CHATGPT_"))}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # never the user's auth cache
    if snippet.language == "python":
        argv = [sys.executable, "-c", snippet.code]
    elif snippet.language in ("bash", "sh", "console"):
        argv = ["bash", "-c", snippet.code]
    else:
        pytest.fail(f"README.md:{snippet.line}: a marked block must be python or bash, not {snippet.language!r}")
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"README.md:{snippet.line} failed:\n{result.stdout}\n{result.stderr}"
    if snippet.expected is not None:
        assert result.stdout.strip() == snippet.expected.strip(), f"README.md:{snippet.line}"
