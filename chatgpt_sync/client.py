"""An OpenAI-shaped facade over any provider: code written for openai-python runs with one import changed.

    from chatgpt_sync import Client
    client = Client(base_url="http://localhost:11434/v1")
    answer = client.chat.completions.create(model="llama3", messages=[{"role": "user", "content": "Hi"}])
    print(answer.choices[0].message.content)

The client builds one provider instance and reuses it, so connections are pooled across calls. It is
as thread-safe as that provider instance (all providers may be shared between threads).
Errors are :mod:`chatgpt_sync.errors`, raised as the provider raises them.
"""

from __future__ import annotations

import time
import uuid
from itertools import chain
from types import TracebackType
from typing import Any, Generator, Iterable, Iterator, Literal, Mapping, Union, overload

from ._client_types import (
    ChatCompletion, ChatCompletionChunk, ChatCompletionMessage, ChatCompletionMessageToolCall, Choice,
    ChoiceDelta, ChoiceDeltaToolCall, ChunkChoice, CompletionUsage, ImagesResponse, Model, SyncPage,
)
from .errors import ResponseError
from .providers import get_provider
from .types import (
    ChoiceText, Chunk, Conversation, FinishReason, ImageResponse, Reasoning, Refusal, ToolCalls, Usage,
)

__all__ = ["Client", "ChatCompletionStream", "ChatCompletion", "ChatCompletionChunk", "ImagesResponse",
           "SyncPage", "Model"]


def _completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def _image_markdown(image: ImageResponse) -> str:
    # Chat answers are text: images become markdown, so printing the answer shows where they are.
    alt = (image.alt or "image").replace("\n", " ")
    return "\n".join(f"![{alt}]({url})" for url in image.urls)


# ------------------------------------------------------------------------------ non-streamed
class _ChoiceParts:
    """What one choice collected from the provider's pieces."""

    __slots__ = ("content", "reasoning", "refusal", "tool_calls", "finish_reason")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: list[ChatCompletionMessageToolCall] = []
        self.finish_reason: str | None = None

    def choice(self, index: int) -> Choice:
        message = ChatCompletionMessage(
            content="".join(self.content) if self.content else None,
            refusal="".join(self.refusal) if self.refusal else None,
            tool_calls=self.tool_calls or None,
            reasoning_content="".join(self.reasoning) if self.reasoning else None,
        )
        return Choice(index, message, self.finish_reason)


def _collect(pieces: Iterable[Chunk], completion_id: str, model: str) -> ChatCompletion:
    """Gather a provider's whole answer into one ChatCompletion (every choice, for ``n > 1``)."""
    choices: dict[int, _ChoiceParts] = {0: _ChoiceParts()}
    usage: CompletionUsage | None = None
    conversation: Conversation | None = None

    def parts(index: int) -> _ChoiceParts:
        found = choices.get(index)
        if found is None:
            found = choices[index] = _ChoiceParts()
        return found

    for piece in pieces:
        if isinstance(piece, str):
            choices[0].content.append(piece)
        elif isinstance(piece, ChoiceText):
            parts(piece.index).content.append(piece.text)
        elif isinstance(piece, FinishReason):
            parts(piece.index).finish_reason = piece.reason
        elif isinstance(piece, ToolCalls):
            parts(piece.index).tool_calls.extend(
                ChatCompletionMessageToolCall.from_dict(call) for call in piece.tool_calls)
        elif isinstance(piece, Reasoning):
            parts(piece.index).reasoning.append(piece.text)
        elif isinstance(piece, Refusal):
            parts(piece.index).refusal.append(piece.text)
        elif isinstance(piece, Usage):
            usage = CompletionUsage.from_usage(piece)
        elif isinstance(piece, ImageResponse):
            choices[0].content.append(_image_markdown(piece))
        elif isinstance(piece, Conversation):
            conversation = piece
        # Titles and sources have no place in the OpenAI shape; the provider API has them.
    return ChatCompletion(completion_id, [choices[i].choice(i) for i in sorted(choices)], int(time.time()),
                          model, usage, conversation)


# ------------------------------------------------------------------------------ streamed
class _StreamState:
    """What the chunk generator remembers beyond the hot loop.

    Kept apart from :class:`ChatCompletionStream` so the generator's frame never refers to the
    stream: an abandoned stream is then freed (and its connection released) at once, not by the
    cycle collector."""

    __slots__ = ("id", "model", "created", "conversation", "started")

    def __init__(self, completion_id: str, model: str) -> None:
        self.id = completion_id
        self.model = model
        self.created = int(time.time())
        self.conversation: Conversation | None = None
        self.started: set[int] = set()  # choices other than 0 whose first delta went out

    def chunk_for(self, piece: Any, first: bool) -> ChatCompletionChunk | None:
        """The chunk for a piece other than choice 0's text, or None when it has no chunk form."""
        if isinstance(piece, Usage):
            return ChatCompletionChunk(self.id, [], self.created, self.model, CompletionUsage.from_usage(piece))
        if isinstance(piece, Conversation):
            self.conversation = piece
            return None
        index = getattr(piece, "index", 0)
        if index == 0:
            role = "assistant" if first else None
        else:
            role = None if index in self.started else "assistant"
            self.started.add(index)
        reason = None
        if isinstance(piece, FinishReason):
            if piece.reason is None:
                return None  # the backend never said the turn finished; OpenAI would send nothing
            delta, reason = ChoiceDelta(role=role), piece.reason
        elif isinstance(piece, ChoiceText):
            delta = ChoiceDelta(piece.text, role)
        elif isinstance(piece, Reasoning):
            delta = ChoiceDelta(role=role, reasoning_content=piece.text)
        elif isinstance(piece, Refusal):
            delta = ChoiceDelta(role=role, refusal=piece.text)
        elif isinstance(piece, ToolCalls):
            delta = ChoiceDelta(role=role, tool_calls=ChoiceDeltaToolCall.from_calls(piece.tool_calls))
        elif isinstance(piece, ImageResponse):
            delta = ChoiceDelta(_image_markdown(piece), role)
        else:
            return None  # titles, sources: not part of the OpenAI chunk shape
        return ChatCompletionChunk(self.id, [ChunkChoice(index, delta, reason)], self.created, self.model)


def _chunks(source: Iterator[Chunk], head: list[Chunk],
            state: _StreamState) -> Generator[ChatCompletionChunk, None, None]:
    cid, created, model = state.id, state.created, state.model
    chunk, choice, delta = ChatCompletionChunk, ChunkChoice, ChoiceDelta
    first = True  # the first delta of choice 0 carries role="assistant", as OpenAI's does
    try:
        for piece in chain(head, source) if head else source:
            # The hot path: one text piece of choice 0 -> one chunk of three small objects.
            if piece.__class__ is str:
                if first:
                    first = False
                    yield chunk(cid, [choice(0, delta(piece, "assistant"))], created, model)
                else:
                    yield chunk(cid, [choice(0, delta(piece))], created, model)
                continue
            event = state.chunk_for(piece, first)
            if event is not None:
                if event.choices and event.choices[0].index == 0:
                    first = False
                yield event
    finally:
        _close(source)


def _close(source: Iterator[Chunk]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()


class ChatCompletionStream(Iterator[ChatCompletionChunk]):
    """The chunks of a streamed answer; also a context manager. ``close()`` releases the connection.

    ``conversation`` is set once a provider with conversations (ChatGPT web) has sent one."""

    __slots__ = ("_source", "_state", "_gen")

    def __init__(self, source: Iterator[Chunk], completion_id: str, model: str) -> None:
        # Like openai-python, send the request now, so that a refused one (401, 404, 429...) raises
        # from create() rather than from the first iteration. The first piece is kept for the loop.
        try:
            head = [next(source)]
        except StopIteration:
            head = []
        except BaseException:
            _close(source)
            raise
        self._source = source
        self._state = _StreamState(completion_id, model)
        self._gen = _chunks(source, head, self._state)

    @property
    def id(self) -> str:
        return self._state.id

    @property
    def model(self) -> str:
        return self._state.model

    @property
    def created(self) -> int:
        return self._state.created

    @property
    def conversation(self) -> Conversation | None:
        return self._state.conversation

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self._gen  # no per-chunk wrapper call

    def __next__(self) -> ChatCompletionChunk:
        return next(self._gen)

    def close(self) -> None:
        """Stop the stream and release its connection. Idempotent."""
        self._gen.close()
        _close(self._source)  # the generator's finally does this too, but only if it had started

    def __enter__(self) -> ChatCompletionStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChatCompletionStream(id={self.id!r}, model={self.model!r})"


# ------------------------------------------------------------------------------ the client
class Completions:
    """``client.chat.completions``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    def create(self, *, model: str, messages: Any, stream: Literal[False] = False,
               **params: Any) -> ChatCompletion: ...
    @overload
    def create(self, *, model: str, messages: Any, stream: Literal[True], **params: Any) -> ChatCompletionStream: ...
    @overload
    def create(self, *, model: str, messages: Any, stream: bool,
               **params: Any) -> Union[ChatCompletion, ChatCompletionStream]: ...

    def create(self, *, model: str, messages: Any, stream: bool = False,
               **params: Any) -> Union[ChatCompletion, ChatCompletionStream]:
        """Create a chat completion: a ChatCompletion, or with ``stream=True`` a ChatCompletionStream."""
        client = self._client
        kwargs = client._call_kwargs(params)
        pieces = client.provider.create_completion(model, messages, stream=bool(stream), **kwargs)
        name = client._model_name(model)
        if stream:
            return ChatCompletionStream(pieces, _completion_id(), name)
        try:
            return _collect(pieces, _completion_id(), name)
        finally:
            pieces.close()


class Chat:
    """``client.chat``."""

    def __init__(self, client: Client) -> None:
        self.completions = Completions(client)


class Models:
    """``client.models``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, **settings: Any) -> SyncPage:
        """The provider's models: its ``get_models()`` if it has one, else its built-in list."""
        client = self._client
        provider = client.provider
        get_models = getattr(provider, "get_models", None)
        if get_models is not None:
            ids = get_models(**client._call_kwargs(settings))
        else:
            ids = list(getattr(provider, "models", []))
        owner = type(provider).__name__
        return SyncPage([Model(model_id, 0, owner) for model_id in ids])


class Images:
    """``client.images``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def generate(self, *, prompt: str, model: str | None = None, n: int | None = None, size: str | None = None,
                 response_format: str | None = None, **params: Any) -> ImagesResponse:
        """Generate images through the provider's image model; ``response_format`` is "url" or "b64_json"."""
        client = self._client
        provider = client.provider
        if not model:
            image_models = getattr(provider, "image_models", None) or [""]
            model = image_models[0]
        options = {"n": n, "size": size, "response_format": response_format}
        kwargs = client._call_kwargs({**{k: v for k, v in options.items() if v is not None}, **params})
        if "prompt" in getattr(provider, "call_params", ()):
            kwargs["prompt"] = prompt  # the user message carries it too, for providers without prompt=
        pieces = provider.create_completion(model, [{"role": "user", "content": prompt}], stream=False,
                                            **kwargs)
        try:
            images = [piece for piece in pieces if isinstance(piece, ImageResponse)]
        finally:
            pieces.close()
        if not images:
            raise ResponseError(f"{type(provider).__name__} returned no images for model {model!r}")
        return ImagesResponse.from_images(images, response_format)


class Client:
    """``Client(provider, *, api_key=None, base_url=None, **settings)``: openai-python's call shape.

    ``provider`` is a provider class, instance or registry name. Without one: ``OpenaiTemplate`` when
    ``base_url`` is given, else ``OpenaiAPI`` (api.openai.com, ``OPENAI_API_KEY``), like
    ``openai.OpenAI()``. ``settings`` are the provider's (``timeout``, ``max_retries``, ``proxy``,
    ``headers``...); openai-python's ``default_headers``, ``organization`` and ``project`` are accepted.
    A class or name is instantiated once here; an instance is used as given, with the settings
    applied to each call. ``close()`` closes the instance the client created.
    """

    def __init__(self, provider: Any = None, *, api_key: str | None = None, base_url: str | None = None,
                 **settings: Any) -> None:
        settings = _openai_settings(settings)
        if api_key is not None:
            settings["api_key"] = api_key
        if base_url is not None:
            settings["base_url"] = base_url
        if provider is None:
            wants_template = base_url is not None or "api_base" in settings
            provider = "OpenaiTemplate" if wants_template else "OpenaiAPI"
        found = get_provider(provider)
        self._owns_provider = isinstance(found, type)
        if self._owns_provider:
            self.provider: Any = found(**settings)
            self._call_settings: dict[str, Any] = {}
        else:
            self.provider = found
            self._call_settings = settings
        self.chat = Chat(self)
        self.models = Models(self)
        self.images = Images(self)

    def _call_kwargs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The provider keywords for one call: openai-python's names mapped, client settings first."""
        kwargs = dict(self._call_settings)
        for name, value in params.items():
            if name == "extra_headers":
                if value:
                    headers = dict(kwargs.get("headers") or {})
                    headers.update(value)
                    kwargs["headers"] = headers
                continue
            if name == "extra_body" and value is None:
                continue
            kwargs[name] = value  # extra_body and timeout keep their names
        return kwargs

    def _model_name(self, model: str) -> str:
        get_model = getattr(self.provider, "get_model", None)
        if get_model is None:
            return model
        try:
            return str(get_model(model) or model)
        except Exception:  # the provider already accepted this model; its name is only for display
            return model

    def close(self) -> None:
        """Close the connections of the provider instance this client created."""
        if self._owns_provider:
            self.provider.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(provider={self.provider!r})"


def _openai_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Map openai.OpenAI's constructor keywords onto provider settings."""
    settings = dict(settings)
    headers = dict(settings.pop("default_headers", None) or {})
    organization = settings.pop("organization", None)
    project = settings.pop("project", None)
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    if headers:
        settings["headers"] = {**headers, **(settings.get("headers") or {})}
    return settings
