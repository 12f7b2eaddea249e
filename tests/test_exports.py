"""The package's exports agree with the provider registry (as httpx's test_exported_members does).

``providers/__init__.py`` lists the providers once; the lazy exports are built from it. ``__all__``
and the ``TYPE_CHECKING`` imports are written out for type checkers, so this test says which line a
new provider still needs.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import chatgpt_sync
from chatgpt_sync import providers

INIT = Path(chatgpt_sync.__file__)


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert chatgpt_sync.__all__ == sorted(chatgpt_sync.__all__, key=str.casefold)
    assert len(set(chatgpt_sync.__all__)) == len(chatgpt_sync.__all__)
    for name in chatgpt_sync.__all__:
        assert getattr(chatgpt_sync, name) is not None, name


def test_every_registered_provider_is_exported_and_typed() -> None:
    tree = ast.parse(INIT.read_text())
    typed = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.If)
             for sub in node.body if isinstance(sub, ast.ImportFrom) for alias in sub.names}
    for name in providers.PROVIDERS:
        assert name in chatgpt_sync.__all__, f"add {name!r} to __all__ in chatgpt_sync/__init__.py"
        assert name in typed, f"add {name} to the TYPE_CHECKING imports in chatgpt_sync/__init__.py"
        assert getattr(chatgpt_sync, name) is providers.get_provider(name)


def test_every_public_object_is_exported() -> None:
    # Classes and functions the package defines and the root module holds are all in __all__.
    for name, value in vars(chatgpt_sync).items():
        if name.startswith("_") or isinstance(value, type(sys)):
            continue
        if getattr(value, "__module__", "").startswith("chatgpt_sync") and callable(value):
            assert name in chatgpt_sync.__all__, name


def test_registry_names_load_and_carry_flags() -> None:
    for cls in providers.provider_classes():
        assert isinstance(cls.working, bool) and isinstance(cls.needs_auth, bool)
        assert "create_completion" in dir(cls)
    assert providers.get_provider("gptalk").__name__ == "GPTalk"  # case-insensitive


def test_model_routing_and_the_default_rule() -> None:
    served = providers.providers_for("auto", needs_auth=False)
    assert [c.__name__ for c in served] == ["ChatGpt"]
    assert all(c.working for c in providers.providers_for())
    assert not providers.providers_for("no-such-model")
    assert providers.default_provider({"base_url": "http://x/v1"}, env={}) == "OpenaiTemplate"
    assert providers.default_provider({}, env={"OPENAI_API_KEY": "sk-x"}) == "OpenaiAPI"
    assert providers.default_provider({}, env={}) is None


def test_importing_the_package_loads_no_provider() -> None:
    code = ("import sys, chatgpt_sync; "
            "print(sorted(m for m in sys.modules if m.startswith('chatgpt_sync.providers.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert importlib.import_module("chatgpt_sync.providers") is providers
