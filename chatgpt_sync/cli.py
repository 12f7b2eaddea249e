"""``chatgpt-sync``: the command line on top of the library.

    chatgpt-sync chat "prompt" [--provider P] [--model M] [--base-url URL] [--api-key KEY] [--no-stream]
    chatgpt-sync chat "prompt" --demo          # offline: the built-in emulator answers
    chatgpt-sync chat [--json] ...              # no prompt, on a terminal: an interactive session
    echo "prompt" | chatgpt-sync chat [-]       # the prompt from standard input
    chatgpt-sync models [--provider P] [--base-url URL]
    chatgpt-sync providers [--json]             # every provider: flags, models, auth
    chatgpt-sync login [--headless] [--timeout S]  # OpenaiChat: sign in in a browser, cache the token
    chatgpt-sync logout                         # delete the auth cache file

With no backend configured it says how to configure one. Exit codes: 0 ok (a refusal included),
1 API error, 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any, Iterator, Sequence

from . import __version__
from ._cli_login import COMMANDS as LOGIN_COMMANDS, add_login_commands, run_login_command
from ._cli_output import Printer, send
from ._cli_session import run_session
from .errors import ChatGPTSyncError, InvalidRequestError, MissingAuthError

EPILOG = """\
configure a backend with one of:
  --demo                         the built-in offline emulator (no network, no account)
  --base-url URL                 any OpenAI-compatible server, e.g. http://localhost:11434/v1 (Ollama)
  OPENAI_API_KEY=sk-...          the OpenAI API (and OPENAI_BASE_URL for a compatible service)
  --provider ChatGpt             the anonymous chatgpt.com web backend
  --provider OpenaiChat          chatgpt.com with your account: --api-key TOKEN, --cookies FILE,
                                 --har-file PATH, CHATGPT_ACCESS_TOKEN, or the auth cache file
                                 (written by 'chatgpt-sync login', a browser sign-in)
environment: CHATGPT_SYNC_PROVIDER, CHATGPT_SYNC_MODEL, CHATGPT_SYNC_BASE_URL, CHATGPT_SYNC_LOG=debug
  (--demo ignores CHATGPT_SYNC_PROVIDER and CHATGPT_SYNC_BASE_URL; it refuses --provider and --base-url)
output: the answer on standard output; when the model declines, its refusal is printed there too,
  on a line of its own starting with "[refusal] "; with --json, one JSON object per line for every
  piece: {"type": "text", "text": ...} and {"type": "<class name>", ...its fields} (no raw JSON)
interactive: 'chat' with no prompt and a terminal on standard input; the prompt marker "> " goes to
  standard error; each line continues the conversation; Ctrl-C stops an answer; /exit, /quit or
  Ctrl-D leave (status 0); Ctrl-C at the prompt leaves with 130; /reset, /model NAME, /save FILE,
  /help; a line ending in \\ goes on, and three double quotes on a line of their own start or
  end a block
status line: while the first piece is awaited, on a terminal only (never when output is piped)
exit status: 0 answered (a refusal is an answer, so 0 too), 1 an error from the backend or the
  network (the message on standard error), 2 bad usage or configuration (missing credentials
  included), 130 interrupted
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatgpt-sync", description="Talk to chat backends, synchronously.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"chatgpt-sync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def backend_options(p: argparse.ArgumentParser) -> None:
        # The environment's defaults are read later (_backend), so that --demo can tell a flag the
        # user typed (an error with --demo) from a variable set in the shell (ignored by --demo).
        p.add_argument("--provider", default=None,
                       help="provider name (OpenaiTemplate, OpenaiAPI, ChatGpt); env CHATGPT_SYNC_PROVIDER")
        p.add_argument("--base-url", default=None,
                       help="root of an OpenAI-compatible API, including /v1; env CHATGPT_SYNC_BASE_URL")
        p.add_argument("--api-key", default=None,
                       help="API key, or OpenaiChat's access token (default: the provider's env var)")
        p.add_argument("--cookies", default=None, metavar="FILE",
                       help="OpenaiChat: a chatgpt.com cookie export (Netscape cookies.txt or JSON)")
        p.add_argument("--har-file", default=None, metavar="PATH",
                       help="OpenaiChat: a .har file (or a folder of them) recorded on chatgpt.com")
        p.add_argument("--auth-file", default=None, metavar="FILE",
                       help="OpenaiChat: the auth cache file (default under ~/.cache/chatgpt_sync)")
        p.add_argument("--timeout", type=float, default=None, help="seconds (connect, read and stream idle)")
        p.add_argument("--demo", action="store_true", help="answer from the built-in offline emulator")

    chat = sub.add_parser("chat", help="send a prompt and stream the answer (no prompt: a session)", epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    chat.add_argument("prompt", nargs="?", default=None,
                      help="the message to send ('-' reads standard input); left out, an interactive "
                           "session when standard input is a terminal, else standard input is read")
    chat.add_argument("--model", "-m", default=os.environ.get("CHATGPT_SYNC_MODEL"), help="model name")
    chat.add_argument("--system", help="a system message to send first")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    chat.add_argument("--json", action="store_true",
                      help='one JSON object per line for every piece: {"type": "text", "text": ...} and '
                           '{"type": "<class name>", ...its fields} for response objects')
    backend_options(chat)

    models = sub.add_parser("models", help="list the models a backend offers")
    backend_options(models)

    listing = sub.add_parser("providers", help="list the providers: working flag, auth, models")
    listing.add_argument("--json", action="store_true", help="one JSON object per provider")
    add_login_commands(sub)
    return parser


@contextlib.contextmanager
def _backend(args: argparse.Namespace) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The provider instance to use, and the emulator behind it when --demo is given."""
    from .providers import default_provider, get_provider

    settings: dict[str, Any] = {}
    if args.timeout is not None:
        settings["timeout"] = args.timeout
    if args.api_key:
        settings["api_key"] = args.api_key
    for option in ("cookies", "har_file", "auth_file"):  # OpenaiChat's credentials; others refuse them
        if getattr(args, option, None):
            settings[option] = getattr(args, option)
    if args.demo:
        from .testing.openai_api import OpenAIEmulator
        from .providers.openai_template import OpenaiTemplate
        with OpenAIEmulator(reply=_DEMO_REPLY) as server, OpenaiTemplate(base_url=server.base_url,
                                                                          **settings) as provider:
            yield provider, {"model": "gpt-4o-mini"}
        return
    name = args.provider or os.environ.get("CHATGPT_SYNC_PROVIDER")
    base_url = args.base_url or os.environ.get("CHATGPT_SYNC_BASE_URL")
    if base_url:
        settings["base_url"] = base_url
    name = name or default_provider(settings)
    if name and name.lower() == "retryprovider":
        raise _Usage("RetryProvider is built from a list of providers, in Python "
                     "(RetryProvider([...])); on the command line, name one provider")
    if not name:
        raise _Usage("no backend configured.\n\n" + EPILOG)
    with get_provider(name)(**settings) as provider:
        yield provider, {}


_DEMO_REPLY = ("This answer streams from chatgpt_sync's built-in emulator, over a real HTTP connection on "
               "127.0.0.1, through the same code path a real backend uses. Point --base-url at a server, "
               "set OPENAI_API_KEY, or use --provider ChatGpt to talk to a real model.")


class _Usage(Exception):
    pass


def _providers(args: argparse.Namespace) -> int:
    """The registry, as a table (or JSON lines): what each provider is and what it needs."""
    import json

    from .providers import PROVIDERS, get_provider

    rows: list[dict[str, Any]] = []
    for name in PROVIDERS:
        cls = get_provider(name)
        rows.append({"name": name, "working": bool(cls.working), "needs_auth": bool(cls.needs_auth),
                     "default_model": cls.default_model or None, "models": list(cls.models),
                     "url": cls.url or None, "label": cls.label or name})
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(f"{'provider':<15} {'working':<8} {'auth':<9} {'default model':<24} models")
    for row in rows:
        auth = "needed" if row["needs_auth"] else "none"
        models = ", ".join(row["models"][:6]) + (", ..." if len(row["models"]) > 6 else "")
        if not models:  # the template lists its server's models; a RetryProvider its members'
            models = "(its members' models)" if row["name"] == "RetryProvider" else "(what its server lists)"
        print(f"{row['name']:<15} {'yes' if row['working'] else 'no':<8} {auth:<9} "
              f"{row['default_model'] or '-':<24} {models}")
    return 0


def _check_usage(args: argparse.Namespace) -> None:
    """Reject option combinations that would otherwise be silently ignored (before any input is read)."""
    if getattr(args, "demo", False) and (args.base_url or args.provider):
        given = "--base-url" if args.base_url else "--provider"
        raise _Usage(f"--demo answers from the built-in emulator, so it cannot be combined with {given}: "
                     f"drop --demo to use that backend, or drop {given} for the offline demo")


def _chat(args: argparse.Namespace) -> int:
    interactive = args.prompt is None and sys.stdin.isatty()
    prompt = ""
    if not interactive:
        prompt = sys.stdin.read() if args.prompt in (None, "-") else args.prompt
        if not prompt.strip():
            raise _Usage("the prompt is empty: pass the text to send, or pipe it in with 'chat -'")
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    with _backend(args) as (provider, defaults):
        model = args.model or defaults.get("model") or provider.default_model
        if not model:
            raise _Usage("this backend has no default model: pass --model NAME (see 'chatgpt-sync models')")
        printer = Printer(args.json)
        if interactive:
            return run_session(provider, model, messages, args, printer)
        messages.append({"role": "user", "content": prompt})
        try:
            send(provider, model, messages, None, args, printer)
        finally:
            printer.end()
    return 0


def _models(args: argparse.Namespace) -> int:
    with _backend(args) as (provider, _):
        if not hasattr(provider, "get_models"):
            print("\n".join(provider.models))
            return 0
        for model in provider.get_models():
            print(model)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command in LOGIN_COMMANDS:
            return run_login_command(args)
        _check_usage(args)
        if args.command == "chat":
            return _chat(args)
        if args.command == "providers":
            return _providers(args)
        return _models(args)
    except _Usage as exc:
        print(f"chatgpt-sync: {exc}", file=sys.stderr)
        return 2
    except (InvalidRequestError, MissingAuthError) as exc:  # bad input or configuration, found before sending
        print(f"chatgpt-sync: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except ChatGPTSyncError as exc:  # a partial answer was already ended on a line of its own
        print(f"chatgpt-sync: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nchatgpt-sync: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python's exit-time flush of
        # stdout from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
