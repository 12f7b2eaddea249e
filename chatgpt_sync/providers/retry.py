"""RetryProvider: ask several providers in turn until one answers.

::

    backup = RetryProvider([OpenaiTemplate(base_url=..., api_key=...), ChatGpt],
                           models={ChatGpt: "auto"})
    for piece in backup.create_completion("gpt-4o-mini", messages, stream=True):
        ...

The rules, in the order a call meets them:

1. **Bad input fails once, before any provider runs.** The messages, the values of the common
   settings (``timeout``, ``max_retries``, ``headers``...) and the keyword names are checked when
   ``create_completion`` is called. A keyword that no member accepts is an
   :class:`~chatgpt_sync.errors.UnknownParameterError` (it is the caller's typo).
2. **A keyword only some members accept limits the call to those members.** A member that does not
   accept every keyword given is skipped (it could not honour the request; keywords are never dropped
   silently). When no member accepts them all, ``UnknownParameterError`` says which member lacks which.
3. **Any other failure before the answer starts moves on to the next member**: a member that
   refuses the call (missing credentials, a model it does not have), fails to open the request
   (after its own ``max_retries``), or fails on its first pull.
4. **"Yielded" means forwarded to the caller.** Each member's stream is pulled until its first
   *answer piece*: text, ``Reasoning``, ``Refusal``, ``ToolCalls``, ``ImageResponse``, ``ChoiceText``.
   Every other object that comes before it (``ResponseMeta``, ``Conversation``, ``TitleGeneration``,
   ``Sources``, ``Usage``, ``FinishReason``...) is held back; held objects are forwarded with the
   first answer piece, or dropped if the member then fails, so nothing from a failed member reaches
   the caller. A member whose stream ends without an answer piece is the answer only if it yielded a
   ``FinishReason`` with a reason (an empty "stop", a content filter); an empty or cut-off stream
   counts as a failure.
5. **Once a piece is forwarded, the member is final.** An error after that propagates as raised,
   with ``partial_text`` and ``conversation``; no other member is asked, so an answer never mixes
   text from two providers.
6. When every member fails, :class:`AllProvidersFailedError` lists each member and its failure.

Members are classes, registry names or configured instances. Classes and names are instantiated
once, with default settings, when the RetryProvider is built, and are owned by it (pooled connections, closed by :meth:`RetryProvider.close`);
instances are borrowed and never closed here. A failed member's stream is closed before the next
member is tried. Per-call keywords go to every member and override its own settings.

Thread safety: an instance may be shared between threads. Its configuration is read-only after
construction, each call keeps its state on its own stream, and the shuffling RNG is used under a lock.

Processes: a RetryProvider pickles with its members (each with its own settings, credentials
included, and none of its connections), their order, ``models=`` and the RNG's state. Members
shared by several RetryProviders (or a Client) pickled together stay shared in the copy.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from random import Random
from typing import Any, Generator, Iterable, Iterator, Mapping, Sequence, TypeVar, Union
from urllib.parse import urlsplit

from .._log import logger
from .._messages import validate_messages
from .._streaming import Stream, attach_progress
from ..errors import ChatGPTSyncError, InvalidRequestError, ResponseError, UnknownParameterError
from ..types import ChoiceText, Chunk, Conversation, FinishReason, ImageResponse, Reasoning, Refusal, ToolCalls
from . import get_provider
from .base import COMMON_SETTINGS, Provider, class_or_instance

__all__ = ["RetryProvider", "RetryStream", "AllProvidersFailedError"]

ProviderLike = Union[str, "type[Provider]", Provider]
#: A member's model: one name for every call, or a translation table (unlisted names pass through).
ModelSpec = Union[str, Mapping[str, str]]

# The objects (besides str) that are part of the answer itself: the first one commits to a member.
# Listed rather than the bookkeeping types, so a type added later is held back, never mixed in.
_ANSWER = (ChoiceText, Reasoning, Refusal, ToolCalls, ImageResponse)


# ------------------------------------------------------------------------------------ the error
if sys.version_info >= (3, 11):
    _GroupBase = ExceptionGroup
else:  # pragma: no cover - exercised on 3.10 only
    _G = TypeVar("_G", bound="_GroupBase")

    class _GroupBase(Exception):
        """3.10 stand-in for ExceptionGroup: the same ``exceptions`` attribute, no ``except*``."""

        _exceptions: tuple[Exception, ...]

        def __new__(cls: type[_G], message: str, exceptions: Sequence[Exception]) -> _G:
            self = super().__new__(cls, message)
            self._exceptions = tuple(exceptions)
            return self

        @property
        def exceptions(self) -> tuple[Exception, ...]:
            return self._exceptions


class AllProvidersFailedError(ChatGPTSyncError, _GroupBase):
    """Every member of a RetryProvider failed before answering.

    ``errors`` is a list of ``(provider name, exception)`` in the order they were tried. On Python
    3.11+ it is also an ``ExceptionGroup`` of those exceptions, so ``except* RateLimitError:`` works;
    ``except ChatGPTSyncError`` catches it on every version.
    """

    def __new__(cls, errors: Sequence[tuple[str, Exception]]) -> AllProvidersFailedError:
        return super().__new__(cls, _summary(errors), [exc for _, exc in errors])

    def __init__(self, errors: Sequence[tuple[str, Exception]]) -> None:
        super().__init__(_summary(errors))
        self.errors: list[tuple[str, Exception]] = list(errors)

    # ExceptionGroup.message is read-only; ChatGPTSyncError stores a redacted message there.
    @property
    def message(self) -> str:
        return str(self.__dict__.get("_message", ""))

    @message.setter
    def message(self, value: str) -> None:
        self.__dict__["_message"] = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,), None)


def _summary(errors: Sequence[tuple[str, Exception]]) -> str:
    lines = [f"{name}: {type(exc).__name__}: {exc}" for name, exc in errors]
    return f"all {len(errors)} providers failed:\n  " + "\n  ".join(lines)


# ------------------------------------------------------------------------------------ members
@dataclass(frozen=True)
class _Member:
    provider: Any  # a Provider, or any object with create_completion (duck typing, as Client allows)
    name: str
    owned: bool
    keys: tuple[Any, ...]  # what a models= mapping may name it by
    accepted: frozenset[str] | None  # keyword names it takes; None when it cannot tell
    model: ModelSpec | None = None

    def model_for(self, requested: str) -> str:
        if self.model is None:
            return requested  # the member's own get_model maps aliases and "" -> default_model
        if isinstance(self.model, str):
            return self.model
        return self.model.get(requested, requested)


@dataclass
class _Outcome:
    """What one call learned; shared by its generator and its RetryStream (no reference cycle)."""

    provider: str | None = None
    errors: list[tuple[str, Exception]] = field(default_factory=list)


class RetryStream(Stream):
    """The stream a RetryProvider returns: a :class:`Stream` that also tells who answered."""

    __slots__ = ("_outcome",)

    def __init__(self, generator: Generator[Chunk, None, None], outcome: _Outcome) -> None:
        super().__init__(generator)
        self._outcome = outcome

    @property
    def provider(self) -> str | None:
        """The name of the member that answered; None before the first piece or if all failed."""
        return self._outcome.provider

    @property
    def errors(self) -> list[tuple[str, Exception]]:
        """``(name, exception)`` of the members that failed (or were skipped) before the answer."""
        return list(self._outcome.errors)


def _accepted(provider: Any) -> frozenset[str] | None:
    if isinstance(provider, RetryProvider):
        return provider._accepted_keywords()
    setting_names = getattr(provider, "setting_names", None)
    call_params = getattr(provider, "call_params", None)
    if setting_names is None or call_params is None:
        return None
    return frozenset(setting_names()) | frozenset(call_params)


def _where(provider: Any) -> str:
    """host:port/path of a member's base_url (no credentials), to tell same-class members apart."""
    settings_for_call = getattr(provider, "settings_for_call", None)
    if settings_for_call is None:
        return ""
    try:
        url = urlsplit(settings_for_call({}).base_url)
    except Exception:  # a name is a nicety; never fail construction over it
        return ""
    if not url.hostname:
        return ""
    port = f":{url.port}" if url.port else ""
    return f"{url.hostname}{port}{url.path}"


def _names(providers: Sequence[Any]) -> list[str]:
    classes = [type(p).__name__ for p in providers]
    names = list(classes)
    for i, provider in enumerate(providers):
        if classes.count(classes[i]) > 1:
            where = _where(provider)
            names[i] = f"{classes[i]}[{where}]" if where else classes[i]
    return [f"{name}#{i + 1}" if names.count(name) > 1 else name for i, name in enumerate(names)]


def _close(source: Any) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()


# ------------------------------------------------------------------------------------ provider
class RetryProvider(Provider):
    """``RetryProvider([A, B, ...], shuffle=False, *, models=None, random=None)``: fallback across providers.

    ``providers``: classes, registry names or configured instances, tried in this order (or shuffled
    per call with ``shuffle=True``, using ``random``: a ``random.Random`` or an int seed).
    ``models``: per-member model names, keyed by the member as given, its class, or its class name;
    a value is a model name for every call or a mapping from the requested name to the member's.
    Members without an entry get the requested name, which their own ``get_model`` resolves.
    """

    label = "RetryProvider"
    working = True
    supports_stream = True

    def __init__(self, providers: Sequence[ProviderLike] = (), shuffle: bool = False, *,
                 models: Mapping[Any, ModelSpec] | None = None, random: Random | int | None = None) -> None:
        super().__init__()
        if isinstance(providers, (str, bytes)) or not providers:
            raise InvalidRequestError(
                "RetryProvider needs a list of providers, e.g. RetryProvider([OpenaiTemplate(base_url=...), "
                "ChatGpt]); it cannot be called on the class")
        instances: list[Any] = []
        owned: list[bool] = []
        for entry in providers:
            found = get_provider(entry)  # names -> classes; classes and instances pass through
            if isinstance(found, type):
                found = found()
                owned.append(True)
            else:
                owned.append(False)
            if not callable(getattr(found, "create_completion", None)):
                raise InvalidRequestError(f"RetryProvider: {entry!r} is not a provider (no create_completion)")
            instances.append(found)
        names = _names(instances)
        members = []
        for entry, instance, name, is_owned in zip(providers, instances, names, owned):
            keys = tuple(k for k in (entry, instance, type(instance), type(instance).__name__, name)
                         if getattr(k, "__hash__", None) is not None)
            members.append(_Member(instance, name, is_owned, keys, _accepted(instance)))
        self._members: tuple[_Member, ...] = tuple(self._with_models(members, models or {}))
        self.shuffle = bool(shuffle)
        self._random = random if isinstance(random, Random) else Random(random)

    @staticmethod
    def _with_models(members: list[_Member], models: Mapping[Any, ModelSpec]) -> Iterator[_Member]:
        for key, spec in models.items():
            if not isinstance(spec, str) and not (
                    isinstance(spec, Mapping) and all(isinstance(v, str) for v in spec.values())):
                raise InvalidRequestError(f"models[{key!r}] must be a model name or a dict of names, not {spec!r}")
            if not any(key in m.keys for m in members):
                raise InvalidRequestError(
                    f"models= names {key!r}, which is none of the providers: {', '.join(m.name for m in members)}")
        for member in members:
            chosen = next((models[k] for k in member.keys if k in models), None)
            yield member if chosen is None else _Member(member.provider, member.name, member.owned, member.keys,
                                                        member.accepted, chosen)

    @property
    def providers(self) -> list[Any]:
        """The member instances, in their configured order."""
        return [m.provider for m in self._members]

    @property
    def provider_names(self) -> list[str]:
        """The names used in logs and errors, in the configured order."""
        return [m.name for m in self._members]

    def _accepted_keywords(self) -> frozenset[str] | None:
        sets = [m.accepted for m in self._members]
        if any(s is None for s in sets):
            return None
        return frozenset().union(*(s for s in sets if s is not None))

    # ------------------------------------------------------------------ the call
    @class_or_instance
    def create_completion(self, model: str, messages: Any, stream: bool = False, **kwargs: Any) -> Stream:
        """Ask each member in turn until one answers; see the module docstring for the rules.

        Returns a :class:`RetryStream`: a Stream whose ``provider`` names the member that answered."""
        checked = validate_messages(messages)
        self.settings_for_call({k: v for k, v in kwargs.items() if k in COMMON_SETTINGS})  # values only
        eligible, skipped = self._eligible(kwargs)
        if self.shuffle:
            self._check_process()  # a forked child replaces the lock a parent's thread may have held
            with self._lock:  # Random is not documented as thread-safe
                self._random.shuffle(eligible)
        outcome = _Outcome(errors=skipped)
        return RetryStream(self._run(eligible, model, checked, bool(stream), kwargs, outcome), outcome)

    def _eligible(self, kwargs: Mapping[str, Any]) -> tuple[list[_Member], list[tuple[str, Exception]]]:
        """The members that accept every keyword, and a skip note for the others."""
        known = self._accepted_keywords()
        if known is not None:
            self._check_names(kwargs, known, "keyword argument")  # unknown to every member: a typo
        eligible: list[_Member] = []
        skipped: list[tuple[str, Exception]] = []
        for member in self._members:
            missing = sorted(set(kwargs) - member.accepted) if member.accepted is not None else []
            if missing:
                skipped.append((member.name, UnknownParameterError(
                    f"{member.name} does not accept {', '.join(missing)}; skipped")))
            else:
                eligible.append(member)
        if not eligible:
            raise UnknownParameterError(
                "no provider accepts all of these keywords: " + "; ".join(str(exc) for _, exc in skipped))
        for _, exc in skipped:
            logger.debug("RetryProvider: %s", exc)
        return eligible, skipped

    def _run(self, members: list[_Member], model: str, messages: list[dict[str, Any]], stream: bool,
             kwargs: dict[str, Any], outcome: _Outcome) -> Generator[Chunk, None, None]:
        errors = outcome.errors
        for position, member in enumerate(members):
            following = members[position + 1].name if position + 1 < len(members) else None
            member_model = member.model_for(model)
            try:
                source = member.provider.create_completion(member_model, messages, stream=stream, **kwargs)
            except Exception as exc:  # refused before sending: credentials, model, configuration
                self._failed(member, exc, errors, following)
                continue
            pieces: Iterator[Chunk] = iter(source)
            try:
                head, ended = _first_answer_piece(pieces)
            except BaseException as exc:
                _close(source)  # release its connection before the next member opens one
                if not isinstance(exc, Exception):
                    raise  # KeyboardInterrupt and friends are the caller's, not a provider failure
                self._failed(member, exc, errors, following)
                continue
            # Only held objects: an answer if the backend said the turn finished (e.g. an empty
            # "stop" or a content filter), a failure if the stream just stopped.
            if ended and not any(isinstance(p, FinishReason) and p.reason for p in head):
                _close(source)
                self._failed(member, ResponseError(f"{member.name} ended its stream without an answer"), errors,
                             following)
                continue
            outcome.provider = member.name
            logger.info("RetryProvider: %s answered (model %r)%s", member.name, member_model,
                        f" after {len(errors)} failed or skipped" if errors else "")
            yield from self._forward(member, source, pieces, head, ended)
            return
        raise AllProvidersFailedError(errors)

    @staticmethod
    def _failed(member: _Member, exc: Exception, errors: list[tuple[str, Exception]], following: str | None) -> None:
        errors.append((member.name, exc))
        logger.info("RetryProvider: %s failed before answering (%s: %s); %s", member.name, type(exc).__name__,
                    exc, f"trying {following}" if following else "no provider left")

    @staticmethod
    def _forward(member: _Member, source: Any, pieces: Iterator[Chunk], head: list[Chunk],
                 ended: bool) -> Generator[Chunk, None, None]:
        """Pass the committed member's pieces through, keeping what an error must carry."""
        parts = [p for p in head if isinstance(p, str)]
        conversation = next((p for p in reversed(head) if isinstance(p, Conversation)), None)
        try:
            yield from head
            if not ended:
                for piece in pieces:
                    if isinstance(piece, str):
                        parts.append(piece)
                    elif isinstance(piece, Conversation):
                        conversation = piece
                    yield piece
        except ChatGPTSyncError as exc:
            # Members attach progress themselves; this covers any that did not. No fallback now.
            attach_progress(exc, "".join(parts), conversation)
            logger.warning("RetryProvider: %s failed after the answer had started (%s: %s)",
                           member.name, type(exc).__name__, exc)
            raise
        finally:
            _close(source)

    # ------------------------------------------------------------------ models and lifetime
    def get_models(self, **kwargs: Any) -> list[str]:
        """Every member's models, in member order without repeats; members that fail are left out."""
        found: dict[str, None] = {}
        errors: list[tuple[str, Exception]] = []
        for member in self._members:
            get_models = getattr(member.provider, "get_models", None)
            try:
                ids: Iterable[str] = get_models(**kwargs) if get_models else getattr(member.provider, "models", [])
            except Exception as exc:
                errors.append((member.name, exc))
                logger.info("RetryProvider: %s could not list its models (%s: %s)", member.name,
                            type(exc).__name__, exc)
                continue
            found.update(dict.fromkeys(ids))
        if not found and errors:
            raise AllProvidersFailedError(errors)
        return list(found)

    def close(self) -> None:
        """Close the members this RetryProvider created; instances passed in belong to the caller."""
        for member in self._members:
            if member.owned:
                member.provider.close()
        super().close()

    def __repr__(self) -> str:
        return f"RetryProvider([{', '.join(self.provider_names)}], shuffle={self.shuffle})"


def _first_answer_piece(pieces: Iterator[Chunk]) -> tuple[list[Chunk], bool]:
    """Pull up to and including the first answer piece; also say whether the stream ended."""
    head: list[Chunk] = []
    for piece in pieces:
        head.append(piece)
        if piece.__class__ is str or isinstance(piece, _ANSWER):
            return head, False
    return head, True
