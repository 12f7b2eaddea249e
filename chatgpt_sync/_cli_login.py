"""``chatgpt-sync login`` and ``chatgpt-sync logout``: the browser login on the command line.

    chatgpt-sync login [--headless] [--browser-path P] [--timeout S] [--auth-file F] [--base-url U]
                       [--profile-dir D]
    chatgpt-sync logout [--auth-file F] [--forget-profile] [--profile-dir D]

``login`` opens Chromium/Chrome at the site; you sign in there; the credentials go to the auth cache
file (mode 0600), and only its path is printed, never the token. ``logout`` deletes that file and,
with ``--forget-profile``, the browser profile that remembers the sign-in.

:func:`add_login_commands` adds both to the main parser; :func:`run_login_command` runs them and
raises the package's errors for the caller to turn into exit statuses (0 ok, 1 backend, network or
timeout, 2 usage or configuration, 130 interrupted). :func:`main` does that on its own.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .errors import ChatGPTSyncError, InvalidRequestError

__all__ = ["COMMANDS", "add_login_commands", "run_login_command", "main"]

COMMANDS = frozenset({"login", "logout"})
DEFAULT_SITE = "https://chatgpt.com"


def add_login_commands(subparsers: Any) -> None:
    """Add ``login`` and ``logout`` to an ``add_subparsers()`` object."""
    login = subparsers.add_parser(
        "login", help="sign in to chatgpt.com in a browser and keep the credentials (for OpenaiChat)",
        description="Opens Chromium or Chrome at the site; sign in there yourself. The token, cookies and "
                    "user agent are written to the auth cache file (mode 0600) that OpenaiChat reads.")
    login.add_argument("--headless", action="store_true",
                       help="no window (only useful when the browser profile is already signed in)")
    login.add_argument("--browser-path", default=None, metavar="P",
                       help="the Chromium/Chrome executable (default: chromium, chromium-browser, "
                            "google-chrome or google-chrome-stable on PATH)")
    login.add_argument("--timeout", type=float, default=300.0, metavar="S",
                       help="seconds to wait for the sign-in (default 300)")
    _common(login)
    login.add_argument("--base-url", default=DEFAULT_SITE, metavar="U", help=f"the site (default {DEFAULT_SITE})")

    logout = subparsers.add_parser("logout", help="delete the credentials kept by 'login'",
                                   description="Deletes the auth cache file; --forget-profile also deletes "
                                               "the browser profile that remembers the sign-in.")
    _common(logout)
    logout.add_argument("--forget-profile", action="store_true",
                        help="also delete the browser profile (the next login starts signed out)")


def _common(parser: argparse.ArgumentParser) -> None:
    folder = _cache_folder()
    parser.add_argument("--auth-file", default=None, metavar="F",
                        help=f"the auth cache file (default: auth_OpenaiChat.json in {folder})")
    parser.add_argument("--profile-dir", default=None, metavar="D",
                        help=f"the browser profile folder (default: browser-profile in {folder})")


def _cache_folder() -> str:
    """The folder the defaults live in, as this environment resolves it ($XDG_CACHE_HOME honoured)."""
    from ._paths import cache_dir  # stdlib only: building the parser must not import requests

    return str(cache_dir())


def run_login_command(args: argparse.Namespace) -> int:
    """Run ``login`` or ``logout``; errors are raised (see :func:`main` for their exit statuses)."""
    return _login(args) if args.command == "login" else _logout(args)


def _login(args: argparse.Namespace) -> int:
    from .providers._web.auth import default_auth_file
    from .providers._web.browser_login import check_display
    from .providers._web.browser_process import find_browser
    from .providers._web.cdp import require_websocket
    from .providers.openai_chat import OpenaiChat

    if not args.timeout > 0:
        raise InvalidRequestError("--timeout must be a positive number of seconds")
    # Everything that can be wrong is said before the banner below (and before a browser starts).
    require_websocket()
    find_browser(args.browser_path)
    check_display(args.headless)
    auth_file = Path(args.auth_file).expanduser() if args.auth_file else default_auth_file()
    chat = OpenaiChat(base_url=args.base_url, auth_file=str(auth_file))  # checks base_url
    print(f"chatgpt-sync: opening {args.base_url} in a browser{' (headless)' if args.headless else ''}; "
          f"sign in there (waiting up to {args.timeout:g} s, Ctrl-C to cancel)", file=sys.stderr)
    auth = chat.login(browser=True, headless=args.headless, browser_path=args.browser_path,
                      timeout=args.timeout, profile_dir=args.profile_dir)
    until = (f"; the token is valid until {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(auth.expires))}"
             if auth.expires else "")
    print(f"Signed in. Credentials written to {auth_file} (readable by you only){until}.")
    return 0


def _logout(args: argparse.Namespace) -> int:
    from .providers._web.auth import default_auth_file
    from .providers._web.browser_process import ProfileLock, default_profile_dir

    auth_file = Path(args.auth_file).expanduser() if args.auth_file else default_auth_file()
    try:
        auth_file.unlink()
        print(f"Removed the credentials in {auth_file}.")
    except FileNotFoundError:
        print(f"No credentials at {auth_file}; nothing to remove.")
    if args.forget_profile:
        profile = Path(args.profile_dir).expanduser() if args.profile_dir else default_profile_dir()
        if not profile.is_dir():
            print(f"No browser profile at {profile}; nothing to remove.")
            return 0
        with ProfileLock(profile):  # refuses while a login uses it
            shutil.rmtree(profile)
        print(f"Removed the browser profile {profile}.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``login``/``logout`` on their own, with the CLI's exit statuses."""
    parser = argparse.ArgumentParser(prog="chatgpt-sync")
    add_login_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return run_login_command(args)
    except InvalidRequestError as exc:  # no browser, no extra, profile in use: fix and retry
        print(f"chatgpt-sync: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except ChatGPTSyncError as exc:  # no sign-in within the timeout, the browser closed
        print(f"chatgpt-sync: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nchatgpt-sync: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
