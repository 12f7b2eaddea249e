"""Imports point downward (DESIGN.md layers), checked on the source with the ast module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chatgpt_sync"
HTTP_LIBRARIES = {"requests", "urllib3", "tls_client", "curl_cffi"}

# module -> package modules it must never import (directly)
LEAVES = {"errors", "types", "_redact", "_sse", "_version", "_frozen", "_html", "_paths"}
WIRE_AND_CORE = {"_sse", "_transport", "_retry", "_core", "_streaming", "_messages", "_media", "_log"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = path.relative_to(PACKAGE).parent.parts
                parents = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join(("chatgpt_sync", *parents, *([base] if base else [])))
                if not node.module:
                    found.update(f"{base}.{alias.name}" for alias in node.names)
                    continue
            found.add(base)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_only_the_transport_imports_http_libraries(path: Path) -> None:
    if path.name == "_transport.py" or "testing" in path.parts:
        return
    roots = {name.split(".")[0] for name in imports_of(path)}
    assert not roots & HTTP_LIBRARIES, f"{path.name} imports {roots & HTTP_LIBRARIES}"


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_nothing_above_them(leaf: str) -> None:
    allowed = {"chatgpt_sync._redact", "chatgpt_sync.types", "chatgpt_sync._frozen", "chatgpt_sync._html"}
    package_imports = {n for n in imports_of(PACKAGE / f"{leaf}.py") if n.startswith("chatgpt_sync")}
    assert package_imports <= allowed


@pytest.mark.parametrize("module", sorted(WIRE_AND_CORE))
def test_core_never_imports_providers_or_the_facade(module: str) -> None:
    names = imports_of(PACKAGE / f"{module}.py")
    assert not any(n.startswith(("chatgpt_sync.providers", "chatgpt_sync.client", "chatgpt_sync.cli"))
                   for n in names)


def test_providers_do_not_import_each_other() -> None:
    backends = {"openai_template", "chatgpt", "openai_chat", "gptalk", "chatgpt4o"}
    for path in (PACKAGE / "providers").glob("*.py"):
        names = imports_of(path)
        others = {b for b in backends if b != path.stem and any(n.endswith(f"providers.{b}") for n in names)}
        assert not others, f"{path.name} imports {others}"


def test_the_package_does_not_import_the_testing_emulators() -> None:
    for path in MODULES:
        if "testing" in path.parts or path.name == "cli.py":  # the CLI's --demo starts an emulator
            continue
        assert not any("chatgpt_sync.testing" in n for n in imports_of(path)), path.name


def test_the_shared_web_code_imports_neither_web_provider() -> None:
    # ChatGpt and OpenaiChat both build on providers/_web/; it must not lean on either of them.
    for path in (PACKAGE / "providers" / "_web").glob("*.py"):
        names = imports_of(path)
        assert not any(n.endswith(("providers.chatgpt", "providers.openai_chat")) for n in names), path.name


def test_emulator_handlers_do_not_import_their_emulator() -> None:
    # The handler works through the _state interface; the emulator imports the handler, not back.
    for handler in PACKAGE.glob("testing/*/handler.py"):
        emulator = f"chatgpt_sync.testing.{handler.parent.name}.emulator"
        assert emulator not in imports_of(handler), handler


def test_the_shared_web_modules_import_each_other_without_cycles() -> None:
    # auth/cookies/har/jwt and stream/citations/images were split along their seams; a helper module
    # importing its user back would make the split a tangle (deferred imports count too).
    web = PACKAGE / "providers" / "_web"
    prefix = "chatgpt_sync.providers._web."
    graph = {path.stem: {n[len(prefix):] for n in imports_of(path) if n.startswith(prefix)}
             for path in web.glob("*.py") if path.stem != "__init__"}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join((*path, module))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_building_the_command_line_parser_imports_no_http_library() -> None:
    """`chatgpt-sync --help` (and every command's parsing) stays cheap: requests loads only for a call."""
    import subprocess
    import sys
    code = ("import sys, chatgpt_sync.cli as cli; cli.build_parser(); "
            "print(sorted(m for m in ('requests', 'urllib3', 'tls_client') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
