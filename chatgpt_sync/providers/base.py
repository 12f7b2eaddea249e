"""What every provider shares: settings, the call shape, model names, connection reuse.

``create_completion(model, messages, stream=False, **kwargs)`` works on the class (a throwaway
instance with default settings, closed when its stream ends) and on an instance that carries settings.
A keyword given per call overrides the instance's. Everything is checked eagerly, when
``create_completion`` is called, so bad input fails before any network call; the returned
:class:`~chatgpt_sync._streaming.Stream` does the I/O as it is iterated.

Thread safety: an instance may be shared between threads. Its settings are read-only after
construction; its transports (connection pools) are created under a lock and are thread-safe.

Processes: an instance pickles (for ``multiprocessing``, ``ProcessPoolExecutor``, Dask) with its
settings, credentials included, and without its connections, locks and other per-process state
(:attr:`Provider.process_local`), which the copy makes afresh. After ``fork`` the child notices the
new process id on its next call and builds its own connection pools; the parent's inherited ones are
neither used nor closed in the child (see :func:`Provider._check_process`), so the parent keeps them.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generator, Generic, TypeVar, overload

from .._core import HTTPCore
from .._messages import validate_messages
from .._redact import mask_secret, redact_text
from .._retry import DEFAULT_MAX_RETRIES
from .._streaming import Stream
from .._transport import TRANSPORTS, make_transport
from ..errors import InvalidRequestError, UnknownParameterError
from .._frozen import FACTORY as _FACTORY
from ..types import Chunk, Timeout

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # frozen dataclasses made without exec (import time): see chatgpt_sync.types
    from .._frozen import field_spec as field, frozen_dataclass as dataclass

__all__ = ["Provider", "CallSettings", "class_or_instance"]

COMMON_SETTINGS = frozenset({
    "base_url", "proxy", "timeout", "max_retries", "headers", "api_key", "transport", "impersonate",
    "verify", "sleep",
})
MAX_CACHED_TRANSPORTS = 8

#: What a forked child inherited from its parent and must never use or close (connection pools,
#: web sessions): kept referenced so that not even garbage collection closes them, since closing
#: some transports (a TLS session's close_notify) would end the parent's connection too.
_INHERITED: list[Any] = []
_FORK_LOCK = threading.Lock()


def _new_fork_lock() -> None:
    global _FORK_LOCK
    _FORK_LOCK = threading.Lock()  # the inherited one may have been held by a thread that is gone


if hasattr(os, "register_at_fork"):  # POSIX; without fork there is nothing to guard
    os.register_at_fork(after_in_child=_new_fork_lock)


def fork_lock() -> threading.Lock:
    """The lock under which per-process state is replaced after a fork (one per process)."""
    return _FORK_LOCK


def inherit(*objects: Any) -> None:
    """Keep objects that a forked child inherited (pools, sessions) alive and untouched."""
    _INHERITED.extend(obj for obj in objects if obj)

P = TypeVar("P", bound="Provider")
R = TypeVar("R")


@dataclass(frozen=True)
class CallSettings:
    """The settings in force for one call: the instance's, overridden by the call's keywords."""

    base_url: str = ""
    proxy: str | None = None
    timeout: Timeout = field(default_factory=Timeout)
    max_retries: int = DEFAULT_MAX_RETRIES
    headers: Mapping[str, str] = field(default_factory=dict)
    api_key: str | None = None
    transport: str = "requests"
    impersonate: str | None = None
    verify: bool | str = True
    #: How retries wait. It travels with the settings when a provider is pickled, so a custom one
    #: must be picklable too (a module-level function; ``time.sleep`` is) for process pools.
    sleep: Callable[[float], None] = time.sleep

    def __init__(self, base_url: str = "", proxy: str | None = None, timeout: Timeout = _FACTORY,
                 max_retries: int = DEFAULT_MAX_RETRIES, headers: Mapping[str, str] = _FACTORY,
                 api_key: str | None = None, transport: str = "requests", impersonate: str | None = None,
                 verify: bool | str = True, sleep: Callable[[float], None] = time.sleep) -> None:
        _set = object.__setattr__
        _set(self, "base_url", base_url)
        _set(self, "proxy", proxy)
        _set(self, "timeout", Timeout() if timeout is _FACTORY else timeout)
        _set(self, "max_retries", max_retries)
        _set(self, "headers", {} if headers is _FACTORY else headers)
        _set(self, "api_key", api_key)
        _set(self, "transport", transport)
        _set(self, "impersonate", impersonate)
        _set(self, "verify", verify)
        _set(self, "sleep", sleep)

    def __repr__(self) -> str:
        return (f"CallSettings(base_url={redact_text(self.base_url)!r}, proxy={'set' if self.proxy else None}, "
                f"timeout={self.timeout!r}, max_retries={self.max_retries}, transport={self.transport!r}, "
                f"api_key={mask_secret(self.api_key)})")


def replace(settings: CallSettings, **changes: Any) -> CallSettings:
    """``dataclasses.replace(settings, **changes)``, without importing dataclasses."""
    return CallSettings(**{**settings.__dict__, **changes})


class class_or_instance(Generic[R]):
    """A method callable on the class (through a throwaway default instance) or on an instance."""

    def __init__(self, func: Callable[..., R]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, obj: None, owner: type[P]) -> Callable[..., R]: ...
    @overload
    def __get__(self, obj: P, owner: type[P]) -> Callable[..., R]: ...

    def __get__(self, obj: Any, owner: Any) -> Callable[..., R]:
        if obj is None:
            obj = owner()
            obj._ephemeral = True  # nobody else holds it: close its connections when its stream ends
        func = self.func

        def bound(*args: Any, **kwargs: Any) -> R:
            return func(obj, *args, **kwargs)

        bound.__doc__ = func.__doc__
        bound.__name__ = func.__name__
        return bound


class Provider:
    """Base class of the providers. Subclasses set the class attributes and implement ``_start``."""

    label: ClassVar[str] = ""
    url: ClassVar[str] = ""
    working: ClassVar[bool] = False
    needs_auth: ClassVar[bool] = False
    supports_stream: ClassVar[bool] = True
    supports_message_history: ClassVar[bool] = True
    supports_system_message: ClassVar[bool] = True
    default_model: ClassVar[str] = ""
    models: ClassVar[list[str]] = []
    model_aliases: ClassVar[dict[str, str]] = {}
    #: When True an unknown model name is an error; otherwise it is passed through as given...
    validates_models: ClassVar[bool] = False
    #: ...unless this is True: then an unknown name means default_model (the seed's ChatGpt rule).
    unknown_model_is_default: ClassVar[bool] = False
    default_base_url: ClassVar[str] = ""
    default_transport: ClassVar[str] = "requests"
    #: Name of the env var holding the API key / token (read when none is passed), if any.
    api_key_env: ClassVar[str | None] = None
    #: False for backends with no key or token to send: an ``api_key=`` is then an error, not dropped.
    takes_api_key: ClassVar[bool] = True
    #: What to tell a caller who passed an api_key to a provider that takes none.
    api_key_hint: ClassVar[str] = ""
    base_url_env: ClassVar[str | None] = None
    #: Provider-specific settings accepted by the constructor and per call.
    extra_settings: ClassVar[frozenset[str]] = frozenset()
    #: Per-call request parameters accepted by create_completion.
    call_params: ClassVar[frozenset[str]] = frozenset()
    #: Instance attributes that belong to one process (connections, locks, what holds them): left
    #: out of a pickle and made afresh by :meth:`_new_process_state`, also in a forked child.
    process_local: ClassVar[frozenset[str]] = frozenset({"_cores", "_lock", "_pid"})

    def __init__(self, **settings: Any) -> None:
        self._check_names(settings, self.setting_names(), "setting")
        self._settings: dict[str, Any] = dict(settings)
        self._base = self._resolve(settings)
        self._ephemeral = False
        self._new_process_state()

    # ------------------------------------------------------------------ processes
    def _new_process_state(self) -> None:
        """Empty connection pools and a fresh lock for this process. Subclasses that cache anything
        holding connections (or a lock) extend this and :attr:`process_local`."""
        self._cores: dict[tuple[Any, ...], HTTPCore] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()  # last: a thread that sees this process's id sees the fresh state

    def _check_process(self) -> None:
        """In a forked child, forget the parent's pools (without closing them) and start afresh."""
        if self._pid == os.getpid():
            return
        with fork_lock():
            if self._pid == os.getpid():
                return  # another thread of this child did it
            inherit(*(self.__dict__.get(name) for name in self.process_local - {"_lock", "_pid"}))
            self._new_process_state()

    def __getstate__(self) -> dict[str, Any]:
        """Settings (credentials included) and subclass state travel; connections and locks do not."""
        return {k: v for k, v in self.__dict__.items() if k not in self.process_local}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._new_process_state()

    # ------------------------------------------------------------------ names and settings
    @classmethod
    def setting_names(cls) -> frozenset[str]:
        return COMMON_SETTINGS | cls.extra_settings

    @classmethod
    def _check_names(cls, given: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
        unknown = sorted(set(given) - allowed)
        if not unknown:
            return
        import difflib  # only for the error's suggestion; kept off the import path
        name = unknown[0]
        # Only a near-spelling is a typo ("temprature"); a real parameter of another backend
        # ("temperature" for ChatGpt) must not be "corrected" into an unrelated one.
        close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.8)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        else:
            hint = f": {cls.__name__} has no such parameter (another backend may take it)."
        raise UnknownParameterError(
            f"{cls.__name__} got an unknown {what} {name!r}{hint} Accepted: {', '.join(sorted(allowed))}")

    def _resolve(self, given: Mapping[str, Any], base: CallSettings | None = None) -> CallSettings:
        """Validate setting values and merge them over ``base`` (or the class defaults)."""
        if base is None:
            base = CallSettings(
                base_url=os.environ.get(self.base_url_env, "") if self.base_url_env else "",
                transport=self.default_transport,
            )
            if base.base_url and "base_url" not in given:
                base = replace(base, base_url=_checked_base_url(base.base_url))  # from the environment
            base = replace(base, base_url=base.base_url or self.default_base_url)
        changes: dict[str, Any] = {}
        for name in COMMON_SETTINGS & given.keys():
            value = given[name]
            if name == "timeout":
                try:
                    value = Timeout.coerce(value)
                except ValueError as exc:
                    raise InvalidRequestError(str(exc)) from exc
            elif name == "max_retries":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise InvalidRequestError(f"max_retries must be a whole number >= 0, not {value!r}")
            elif name == "headers":
                if not isinstance(value, Mapping):
                    raise InvalidRequestError("headers must be a dict of header name -> value")
                value = {**base.headers, **{str(k): str(v) for k, v in value.items()}}
            elif name == "transport":
                if value not in TRANSPORTS:
                    raise InvalidRequestError(
                        f"transport must be one of {', '.join(TRANSPORTS)}, not {value!r}")
            elif name == "base_url":
                value = _checked_base_url(value)
            elif name == "proxy":
                if value is not None and (not isinstance(value, str) or "://" not in value):
                    raise InvalidRequestError('proxy must look like "http://host:port" or "socks5://host:port"')
            elif name == "sleep" and not callable(value):
                raise InvalidRequestError("sleep must be a callable taking seconds")
            elif name == "api_key" and value and not self.takes_api_key:
                raise InvalidRequestError(f"{type(self).__name__} takes no api_key{self.api_key_hint}")
            changes[name] = value
        return replace(base, **changes) if changes else base

    def settings_for_call(self, call_kwargs: Mapping[str, Any]) -> CallSettings:
        return self._resolve(call_kwargs, self._base)

    def setting(self, name: str, call_kwargs: Mapping[str, Any], default: Any = None) -> Any:
        """A provider-specific setting: the call's value, else the instance's, else ``default``."""
        if name in call_kwargs:
            return call_kwargs[name]
        return self._settings.get(name, default)

    def resolve_api_key(self, call: CallSettings) -> str | None:
        if call.api_key:
            return call.api_key
        if self.api_key_env:
            return os.environ.get(self.api_key_env) or None
        return None

    # ------------------------------------------------------------------ models
    @classmethod
    def get_model(cls, model: str | None) -> str:
        """The backend's name for ``model``: aliases mapped, empty → default_model."""
        if not model:
            return cls.default_model
        if model in cls.model_aliases:
            return cls.model_aliases[model]
        if cls.unknown_model_is_default and model not in cls.models:
            return cls.default_model
        if cls.validates_models and cls.models and model not in cls.models:
            raise InvalidRequestError(
                f"{cls.__name__} has no model {model!r}; choose one of: {', '.join(cls.models)}")
        return model

    # ------------------------------------------------------------------ connections
    def core(self, call: CallSettings) -> HTTPCore:
        """The HTTP core for these settings, reused across calls (one pool per transport/proxy)."""
        self._check_process()
        key = (call.transport, call.proxy, call.verify, call.impersonate, call.sleep)
        core = self._cores.get(key)
        if core is None:
            with self._lock:
                core = self._cores.get(key)
                if core is None:
                    if len(self._cores) >= MAX_CACHED_TRANSPORTS:
                        self._cores.pop(next(iter(self._cores))).close()  # the oldest
                    transport = make_transport(call.transport, proxy=call.proxy, verify=call.verify,
                                               impersonate=call.impersonate)
                    core = HTTPCore(transport, sleep=call.sleep)
                    self._cores[key] = core
        return core

    def close(self) -> None:
        """Close every connection this instance holds (in this process: a forked child never closes
        the parent's)."""
        self._check_process()
        with self._lock:
            cores, self._cores = list(self._cores.values()), {}
        for core in cores:
            core.close()

    def __enter__(self: P) -> P:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._base!r})"

    # ------------------------------------------------------------------ the call
    @class_or_instance
    def create_completion(self, model: str, messages: Any, stream: bool = False, **kwargs: Any) -> Stream:
        """Ask for a completion; iterate the result for text pieces (``str``) and response objects."""
        if model is not None and not isinstance(model, str):
            # Checked first: a number or a list would otherwise fail deep inside as AttributeError or
            # TypeError, or (for a provider that maps unknown names to its default) pass silently.
            raise InvalidRequestError(
                f"model must be a string (a model name such as 'gpt-4o-mini'), or None for the default; "
                f"got {type(model).__name__} {model!r}")
        self._check_names(kwargs, self.setting_names() | self.call_params, "keyword argument")
        call = self.settings_for_call(kwargs)
        checked = validate_messages(messages)
        generator = self._start(self.get_model(model), checked, bool(stream), call,
                                {k: v for k, v in kwargs.items() if k not in COMMON_SETTINGS})
        return Stream(self._guard(generator))

    def _guard(self, generator: Generator[Chunk, None, None]) -> Generator[Chunk, None, None]:
        if not self._ephemeral:
            return generator
        return self._closing(generator)

    def _closing(self, generator: Generator[Chunk, None, None]) -> Generator[Chunk, None, None]:
        try:
            yield from generator
        finally:
            generator.close()
            self.close()

    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: CallSettings,
               params: dict[str, Any]) -> Generator[Chunk, None, None]:
        """Check and build the request eagerly, then return the generator that performs it."""
        raise NotImplementedError


def _checked_base_url(value: Any) -> str:
    """``value`` without its trailing slash, or InvalidRequestError unless it is a well-formed http(s)
    URL with a host: a malformed one must fail here, not be sent (and retried as a network error).
    Error messages are redacted by the error class, so a password in the URL does not show."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise InvalidRequestError(f"base_url must be an http(s) URL, not {value!r}")
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise InvalidRequestError(f"base_url {value!r} is malformed: {exc}") from None
    if not parts.hostname:
        raise InvalidRequestError(f"base_url {value!r} has no host name")
    if any(c.isspace() for c in value):
        raise InvalidRequestError(f"base_url {value!r} contains whitespace")
    return value.rstrip("/")
