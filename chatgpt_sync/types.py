"""Public data types: what goes in (messages, timeouts) and what comes out between text pieces.

Outputs are frozen dataclasses. Each has a ``raw`` field with the provider's original JSON (excluded
from equality and repr) so nothing the server said is out of reach.

They are built without running ``@dataclasses.dataclass`` at import: the decorator compiles six
methods per class with ``exec``, which for these thirteen classes cost more than the rest of the
package's import together. Each class writes its ``__init__`` out (checked against its fields when
the class is made); :func:`_frozen_dataclass` adds the methods ``@dataclass(frozen=True)`` would
(``__repr__``, ``__eq__``, ``__hash__``, the frozen ``__setattr__``/``__delattr__``,
``__match_args__``) as plain closures, and ``__dataclass_fields__``/``__dataclass_params__`` on
first use, so ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work as before.
Type checkers see the plain ``@dataclass(frozen=True)`` classes.
"""

from __future__ import annotations

import sys
from _thread import get_ident
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Mapping, Optional, Tuple, Type, TypeVar, Union

from ._redact import redact_headers

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover - typing_extensions costs import time; only 3.10 needs it
    from typing_extensions import NotRequired, TypedDict

__all__ = [
    "Timeout", "TimeoutLike",
    "Message", "Messages", "ContentPart",
    "FinishReason", "Usage", "Conversation", "TitleGeneration", "ToolCalls", "Reasoning",
    "ImageResponse", "Sources", "Refusal", "ChoiceText", "ResponseMeta", "LogProbs", "ResponseObject",
    "Chunk",
]


# ---------------------------------------------------------------- frozen dataclasses, without exec

_C = TypeVar("_C", bound=type)
_MISSING: Any = object()


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


#: The default a written-out ``__init__`` gives a ``field(default_factory=...)`` field: "call the factory".
#: (Shown as ``<factory>`` in signatures, as dataclasses show theirs.)
_FACTORY: Any = _Factory()


class _FieldSpec:
    """What ``dataclasses.field(...)`` says, for :func:`_frozen_dataclass`."""

    __slots__ = ("default", "default_factory", "compare", "repr")

    def __init__(self, default: Any, default_factory: Any, compare: bool, repr: bool) -> None:
        self.default, self.default_factory, self.compare, self.repr = default, default_factory, compare, repr

    def field_kwargs(self) -> Dict[str, Any]:
        kwargs: Dict[str, Any] = {"compare": self.compare, "repr": self.repr}
        if self.default is not _MISSING:
            kwargs["default"] = self.default
        if self.default_factory is not _MISSING:
            kwargs["default_factory"] = self.default_factory
        return kwargs


def _field_spec(*, default: Any = _MISSING, default_factory: Any = _MISSING, compare: bool = True,
                repr: bool = True) -> Any:
    return _FieldSpec(default, default_factory, compare, repr)


def _frozen_error(message: str) -> AttributeError:
    from dataclasses import FrozenInstanceError  # only on this error path; it is an AttributeError

    return FrozenInstanceError(message)


def _values_of(names: Tuple[str, ...]) -> Callable[[Any], Tuple[Any, ...]]:
    """``obj -> (obj.a, obj.b, ...)``, always a tuple (attrgetter gives a bare value for one name)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


class _DataclassInfo:
    """``__dataclass_fields__`` / ``__dataclass_params__`` of a :func:`_frozen_dataclass` class, made
    on first use by applying the real decorator to a stand-in with the same fields."""

    def __init__(self, owner: type, specs: Tuple[Tuple[str, Any, _FieldSpec], ...], attribute: str,
                 slots: bool) -> None:
        self.owner, self.specs, self.attribute, self.slots = owner, specs, attribute, slots

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        import dataclasses

        stand_in = dataclasses.make_dataclass(
            self.owner.__name__, [(name, annotation, dataclasses.field(**spec.field_kwargs()))
                                  for name, annotation, spec in self.specs], frozen=True, slots=self.slots)
        for attribute in ("__dataclass_fields__", "__dataclass_params__"):  # replaces both descriptors
            setattr(self.owner, attribute, getattr(stand_in, attribute))
        return getattr(self.owner, self.attribute)


_repr_running: set[Tuple[int, int]] = set()


def _frozen_dataclass(*, frozen: bool, slots: bool = False) -> Callable[[_C], _C]:
    """At run time, what ``@dataclass(frozen=True)`` (or ``frozen=True, slots=True``) makes of the
    class, given its written-out ``__init__``. Fields with a ``default_factory`` take :data:`_FACTORY`
    as their ``__init__`` default and call the factory for it."""
    if not frozen:
        raise TypeError("only frozen dataclasses are made this way")
    return lambda cls: _make_frozen(cls, slots)


def _make_frozen(cls: _C, slots: bool) -> _C:
    own = dict(cls.__dict__)
    annotations: Dict[str, Any] = own.get("__annotations__", {})
    specs: list[Tuple[str, Any, _FieldSpec]] = []
    for name, annotation in annotations.items():
        if str(annotation).startswith(("ClassVar", "InitVar", "typing.ClassVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__name__}.{name}: ClassVar and InitVar are not supported here")
        value = own.get(name, _MISSING)
        spec = value if isinstance(value, _FieldSpec) else _FieldSpec(value, _MISSING, True, True)
        if isinstance(value, _FieldSpec):  # as dataclass does: the class attribute is the plain default
            del own[name]
            if spec.default is not _MISSING:
                own[name] = spec.default
        specs.append((name, annotation, spec))
    fields = tuple(name for name, _, _ in specs)
    _check_init(cls, fields, tuple(_FACTORY if spec.default_factory is not _MISSING else spec.default
                                   for _, _, spec in specs
                                   if spec.default is not _MISSING or spec.default_factory is not _MISSING))
    for method_name in ("__setattr__", "__delattr__"):
        if method_name in own:
            raise TypeError(f"Cannot overwrite attribute {method_name} in class {cls.__name__}")
    if slots:  # as dataclass does: a new class whose slots replace the defaults' class attributes
        if "__slots__" in own:
            raise TypeError(f"{cls.__name__} already specifies __slots__")
        for name in (*fields, "__dict__", "__weakref__"):
            own.pop(name, None)
        own["__slots__"] = fields
        qualname = cls.__qualname__
        cls = type(cls)(cls.__name__, cls.__bases__, own)
        cls.__qualname__ = qualname
    else:
        for name, _, spec in specs:
            if isinstance(cls.__dict__.get(name), _FieldSpec):
                if spec.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
    owner: Type[Any] = cls
    compared = _values_of(tuple(name for name, _, spec in specs if spec.compare))
    shown = tuple(name for name, _, spec in specs if spec.repr)

    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in _repr_running:  # as dataclasses' recursive_repr
            return "..."
        _repr_running.add(key)
        try:
            return f"{self.__class__.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"
        finally:
            _repr_running.discard(key)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(compared(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is owner or name in fields:
            raise _frozen_error(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is owner or name in fields:
            raise _frozen_error(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)

    def __getstate__(self: Any) -> list[Any]:  # frozen slots classes only, as dataclass adds them
        return [getattr(self, name) for name in fields]

    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(fields, state):
            object.__setattr__(self, name, value)

    methods: Dict[str, Callable[..., Any]] = {"__repr__": __repr__, "__eq__": __eq__, "__hash__": __hash__,
                                              "__setattr__": __setattr__, "__delattr__": __delattr__}
    if slots:
        methods.update(__getstate__=__getstate__, __setstate__=__setstate__)
    if sys.version_info >= (3, 13):  # copy.replace(), as dataclasses add it there
        def __replace__(self: Any, /, **changes: Any) -> Any:
            import dataclasses

            return dataclasses.replace(self, **changes)

        methods["__replace__"] = __replace__
    if "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own):
        del methods["__hash__"]  # an explicit __hash__ stays, as with dataclass
    for method_name, method in methods.items():
        if method_name in own and method_name != "__hash__":
            continue  # written in the class: kept, as dataclass keeps it
        method.__qualname__ = f"{cls.__qualname__}.{method_name}"
        setattr(cls, method_name, method)
    if "__match_args__" not in own:
        setattr(cls, "__match_args__", fields)
    for attribute in ("__dataclass_fields__", "__dataclass_params__"):
        setattr(cls, attribute, _DataclassInfo(cls, tuple(specs), attribute, slots))
    return cls


def _check_init(cls: type, fields: Tuple[str, ...], defaults: Tuple[Any, ...]) -> None:
    """The written-out ``__init__`` must take exactly the fields, in order, with their defaults."""
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    given = (getattr(init, "__defaults__", None) or ())
    if (code is None or code.co_varnames[1:code.co_argcount] != fields or code.co_kwonlyargcount
            or len(given) != len(defaults)
            or not all(g is d or (g is not _FACTORY and d is not _FACTORY and g == d)
                       for g, d in zip(given, defaults))):
        raise TypeError(f"{cls.__name__}.__init__ must take the fields {fields} with the defaults {defaults}")
    init.__annotations__["return"] = None  # as on a generated __init__ (not the string "None")


if TYPE_CHECKING:  # type checkers see plain frozen dataclasses, which is what these classes behave as
    from dataclasses import dataclass, field
else:
    dataclass, field = _frozen_dataclass, _field_spec

_set = object.__setattr__  # what a frozen dataclass's __init__ uses


# ----------------------------------------------------------------------------------------- inputs

class ImageURL(TypedDict):
    url: str
    detail: NotRequired[str]


class ContentPart(TypedDict, total=False):
    """An OpenAI-style content part: ``{"type": "text", "text": ...}`` or ``{"type": "image_url", ...}``."""

    type: str
    text: str
    image_url: ImageURL


class Message(TypedDict):
    """One chat message. ``content`` is a string or a list of content parts."""

    role: str
    content: Union[str, List[ContentPart], None]
    name: NotRequired[str]
    tool_calls: NotRequired[List[Dict[str, Any]]]
    tool_call_id: NotRequired[str]


Messages = List[Message]


@dataclass(frozen=True)
class Timeout:
    """Timeouts in seconds. ``connect``: opening the connection; ``read``: waiting for the response
    headers (and each read of a non-streamed body); ``stream_idle``: the longest a stream may go
    without receiving a byte before :class:`~chatgpt_sync.errors.APITimeoutError` is raised.

    ``None`` for a part means no limit for that part, and must be asked for explicitly.
    """

    connect: Optional[float] = 10.0
    read: Optional[float] = 60.0
    stream_idle: Optional[float] = 60.0

    def __init__(self, connect: Optional[float] = 10.0, read: Optional[float] = 60.0,
                 stream_idle: Optional[float] = 60.0) -> None:
        _set(self, "connect", connect)
        _set(self, "read", read)
        _set(self, "stream_idle", stream_idle)

    @classmethod
    def coerce(cls, value: TimeoutLike) -> Timeout:
        """A Timeout from a number (all parts alike), a Timeout, or None (no limits)."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"timeout must be a positive number or chatgpt_sync.Timeout, not {value!r}")
        seconds = float(value)
        return cls(seconds, seconds, seconds)


TimeoutLike = Union[Timeout, float, int, None]


# ---------------------------------------------------------------------------------------- outputs

@dataclass(frozen=True)
class FinishReason:
    """Why the turn ended: "stop", "length", "tool_calls", "content_filter", or None when the stream
    ended without the backend saying the turn finished. ``index`` is the choice (for ``n > 1``)."""

    reason: Optional[str]
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, reason: Optional[str], index: int = 0, raw: Any = None) -> None:
        _set(self, "reason", reason)
        _set(self, "index", index)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class Usage:
    """Token counts, as the backend reported them."""

    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, prompt_tokens: Optional[int] = None, completion_tokens: Optional[int] = None,
                 total_tokens: Optional[int] = None, raw: Any = None) -> None:
        _set(self, "prompt_tokens", prompt_tokens)
        _set(self, "completion_tokens", completion_tokens)
        _set(self, "total_tokens", total_tokens)
        _set(self, "raw", raw)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        prompt = data.get("prompt_tokens", data.get("input_tokens"))
        completion = data.get("completion_tokens", data.get("output_tokens"))
        total = data.get("total_tokens")
        if total is None and isinstance(prompt, int) and isinstance(completion, int):
            total = prompt + completion
        return cls(prompt, completion, total, raw=dict(data))


@dataclass(frozen=True)
class Conversation:
    """Where a web conversation stands. Pass it back as ``conversation=`` to continue it."""

    conversation_id: Optional[str] = None
    message_id: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, conversation_id: Optional[str] = None, message_id: Optional[str] = None,
                 raw: Any = None) -> None:
        _set(self, "conversation_id", conversation_id)
        _set(self, "message_id", message_id)
        _set(self, "raw", raw)

    def to_dict(self) -> Dict[str, Optional[str]]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conversation:
        return cls(data.get("conversation_id"), data.get("message_id"))


@dataclass(frozen=True)
class TitleGeneration:
    """A title the backend generated for the conversation."""

    title: str
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, title: str, raw: Any = None) -> None:
        _set(self, "title", title)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class ToolCalls:
    """Complete tool calls: OpenAI-shaped dicts ``{"id", "type", "function": {"name", "arguments"}}``."""

    tool_calls: List[Dict[str, Any]]
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, tool_calls: List[Dict[str, Any]], index: int = 0, raw: Any = None) -> None:
        _set(self, "tool_calls", tool_calls)
        _set(self, "index", index)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class Reasoning:
    """A piece of the model's reasoning (``reasoning_content`` or a thinking summary)."""

    text: str
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, text: str, index: int = 0, raw: Any = None) -> None:
        _set(self, "text", text)
        _set(self, "index", index)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class Refusal:
    """A piece of a refusal message (the model declined to answer)."""

    text: str
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, text: str, index: int = 0, raw: Any = None) -> None:
        _set(self, "text", text)
        _set(self, "index", index)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class ImageResponse:
    """Generated (or returned) images: URLs (http(s) or data URLs) and their alt text / prompt."""

    urls: List[str]
    alt: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, urls: List[str], alt: Optional[str] = None, raw: Any = None) -> None:
        _set(self, "urls", urls)
        _set(self, "alt", alt)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class Sources:
    """Sources the answer cites: ``[{"url": ..., "title": ...}, ...]``."""

    sources: List[Dict[str, Any]]
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, sources: List[Dict[str, Any]], raw: Any = None) -> None:
        _set(self, "sources", sources)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class ChoiceText:
    """Text of a choice other than the first, when ``n > 1`` was asked for.

    The first choice's text is yielded as plain ``str``; the others come as ChoiceText so that joining
    the ``str`` pieces still gives exactly one answer.
    """

    text: str
    index: int
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, text: str, index: int, raw: Any = None) -> None:
        _set(self, "text", text)
        _set(self, "index", index)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class ResponseMeta:
    """The server's own identifiers for the answer, yielded once, before its first text piece.

    Every field is what the server sent (``None`` when it sent nothing): ``id`` (``chatcmpl-...``, or
    the web backend's message id), ``model`` (the model that answered, e.g. ``gpt-4o-2024-08-06``,
    not the name that was asked for), ``created`` (Unix seconds), ``system_fingerprint``, and
    ``request_id`` (the ``x-request-id`` header, to quote to the service's support).
    """

    id: Optional[str] = None
    model: Optional[str] = None
    created: Optional[int] = None
    system_fingerprint: Optional[str] = None
    request_id: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)
    #: The HTTP status and headers of the answer (secret headers redacted), for ``with_raw_response``.
    status_code: Optional[int] = field(default=None, compare=False, repr=False)
    headers: Optional[Dict[str, str]] = field(default=None, compare=False, repr=False)

    def __init__(self, id: Optional[str] = None, model: Optional[str] = None, created: Optional[int] = None,
                 system_fingerprint: Optional[str] = None, request_id: Optional[str] = None, raw: Any = None,
                 status_code: Optional[int] = None, headers: Optional[Dict[str, str]] = None) -> None:
        _set(self, "id", id)
        _set(self, "model", model)
        _set(self, "created", created)
        _set(self, "system_fingerprint", system_fingerprint)
        _set(self, "request_id", request_id)
        _set(self, "raw", raw)
        _set(self, "status_code", status_code)
        _set(self, "headers", headers)

    @classmethod
    def from_completion(cls, data: Mapping[str, Any], status_code: Optional[int] = None,
                        headers: Optional[Mapping[str, str]] = None) -> ResponseMeta:
        """From a ``chat.completion`` body or its first ``chat.completion.chunk``, and the answer's
        status and (lower-case) headers."""
        def text(name: str) -> Optional[str]:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        created = data.get("created")
        shown = redact_headers(headers) if headers else None
        request_id = (shown or {}).get("x-request-id")
        return cls(text("id"), text("model"), created if isinstance(created, int) else None,
                   text("system_fingerprint"), request_id, dict(data), status_code, shown)


@dataclass(frozen=True)
class LogProbs:
    """Token log probabilities, as the server sent them (asked for with ``logprobs=True``).

    ``content`` and ``refusal`` are lists of ``{"token", "logprob", "bytes", "top_logprobs"}`` dicts.
    Streamed, each object covers the tokens of one chunk; otherwise, the whole choice.
    """

    content: Optional[List[Dict[str, Any]]] = None
    refusal: Optional[List[Dict[str, Any]]] = None
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, content: Optional[List[Dict[str, Any]]] = None,
                 refusal: Optional[List[Dict[str, Any]]] = None, index: int = 0, raw: Any = None) -> None:
        _set(self, "content", content)
        _set(self, "refusal", refusal)
        _set(self, "index", index)
        _set(self, "raw", raw)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int = 0) -> LogProbs:
        content, refusal = data.get("content"), data.get("refusal")
        return cls(content if isinstance(content, list) else None,
                   refusal if isinstance(refusal, list) else None, index, raw=dict(data))


ResponseObject = Union[FinishReason, Usage, Conversation, TitleGeneration, ToolCalls, Reasoning,
                       Refusal, ImageResponse, Sources, ChoiceText, ResponseMeta, LogProbs]
Chunk = Union[str, ResponseObject]

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
