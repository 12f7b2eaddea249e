"""How OpenAI-compatible servers stream and fail: one row per quirk, the server's own bytes, the answer.

Each row is a quirk of llama.cpp, llama-cpp-python, vLLM, Ollama, LM Studio, TGI or LiteLLM (ids
Q1..Q31 of the server survey this table follows), with the server code or issue that shows it, the
status, headers and body that server sends, and what ``OpenaiTemplate`` must make of it: the text,
the joined tool calls, the finish reason and usage, or the exception. A tiny loopback server replays
each row's bytes verbatim on its own route (``/<row id>/v1/chat/completions``), so the whole client
runs: transport, status and content-type checks, the SSE decoder, the chunk interpreter.

``RawReply`` / ``RawReplyServer`` are reused by test_no_silent_empty.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import pytest

from chatgpt_sync import OpenaiTemplate, Timeout
from chatgpt_sync.errors import (
    APIConnectionError, BadRequestError, InternalServerError, NotFoundError, ResponseError,
    UnprocessableEntityError,
)
from chatgpt_sync.testing._server import EmulatorHandler, EmulatorServer
from chatgpt_sync.types import FinishReason, Reasoning, ToolCalls, Usage

from conftest import USER

SSE = {"Content-Type": "text/event-stream"}
JSON = {"Content-Type": "application/json"}


# ------------------------------------------------------------------------------ the route server
@dataclass(frozen=True)
class RawReply:
    """What a route answers, byte for byte.

    ``framing``: "length" (Content-Length), "chunked" (one HTTP chunk per event, then the last
    chunk), "drop" (chunked, then the connection is cut without the last chunk) or "close" (no
    length: the body ends when the server closes the connection). ``{url}`` in a header value
    becomes the URL the request was sent to (a redirect to itself).
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=lambda: dict(SSE))
    body: bytes = b""
    framing: str = "chunked"


_EVENT_END = re.compile(rb"(?:\r\n\r\n|\n\n|\r\r)")


class _RawHandler(EmulatorHandler):
    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.read_body()
        self._answer()

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.read_body()
        self._answer()

    def _answer(self) -> None:
        route = self.path.split("?")[0].split("/")[1]
        reply: RawReply | None = self.emulator.replies.get(route)
        if reply is None:
            reply = RawReply(404, {"Content-Type": "text/plain"}, b"no such route", "length")
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value.replace("{url}", self.emulator.origin + self.path))
        if reply.framing == "length":
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        if reply.framing == "close":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        start = 0
        for match in _EVENT_END.finditer(reply.body):  # one chunk per event, as servers flush
            self.write_chunk(reply.body[start:match.end()])
            start = match.end()
        self.write_chunk(reply.body[start:])
        if reply.framing == "drop":
            self.drop_connection()
        else:
            self.end_chunked()


class RawReplyServer(EmulatorServer):
    """Replays ``replies[route]`` for any request under ``/<route>/``."""

    handler_class = _RawHandler

    def __init__(self, replies: Mapping[str, RawReply]) -> None:
        super().__init__()
        self.replies = dict(replies)

    def base_url_for(self, route: str) -> str:
        return f"{self.origin}/{route}/v1"

    def count(self, route: str) -> int:
        return sum(1 for r in self.requests if r.path.split("/")[1] == route)


# ------------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Outcome:
    """What the caller must get. With ``raises``: that exception, ``match`` in its text, and the
    listed attributes; otherwise the pieces. ``warns``: a fragment of a warning on the package logger."""

    text: str = ""
    tool_calls: tuple[dict[str, Any], ...] = ()
    finish: str | None = "stop"
    usage: Usage | None = None
    reasoning: str = ""
    raises: type[Exception] | None = None
    match: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)
    warns: str = ""
    models: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Row:
    id: str          # route and test id: quirk, server, what
    source: str      # where the quirk shows (repo@path:line or function, issue, PR)
    reply: RawReply
    outcome: Outcome
    call: str = "stream"  # "stream", "json" (stream=False) or "models" (get_models)


def call(id: str, name: str, arguments: str, type: str = "function") -> dict[str, Any]:  # noqa: A002
    return {"id": id, "type": type, "function": {"name": name, "arguments": arguments}}


WEATHER = call("call_x", "get_weather", '{"city":"Paris"}')

ROWS = [
    # ---------------------------------------------------------------------------------- llama.cpp
    Row("Q1-llamacpp-error-object-then-eof",
        "ggml-org/llama.cpp tools/server/server-context.cpp handle_completions_impl res->next: "
        "format_oai_sse(json {{\"error\", res_json}}); return false (no [DONE])",
        RawReply(body=b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hel"}}],'
                      b'"created":1750000000,"id":"chatcmpl-a1","model":"m","system_fingerprint":"b6700-1a2b3c4",'
                      b'"object":"chat.completion.chunk"}\n\n'
                      b'data: {"error":{"code":500,"message":"failed to decode the batch","type":"server_error"}}\n\n'),
        Outcome(raises=ResponseError, match="failed to decode the batch",
                attrs={"partial_text": "Hel", "code": 500, "type": "server_error"})),
    Row("Q2-llamacpp-first-error-is-http-503",
        "ggml-org/llama.cpp tools/server/server-http.cpp middleware_server_state; format_error_response",
        RawReply(503, JSON, b'{"error":{"message":"Loading model","type":"unavailable_error","code":503}}', "length"),
        Outcome(raises=InternalServerError, match="Loading model", attrs={"status_code": 503, "code": 503})),
    Row("Q2-llamacpp-uncaught-500-text-plain",
        "ggml-org/llama.cpp tools/server/server-http.cpp set_exception_handler (500 text/plain)",
        RawReply(500, {"Content-Type": "text/plain"}, b"vector::_M_range_check: __n >= this->size()", "length"),
        Outcome(raises=InternalServerError, match="_M_range_check")),
    Row("Q3-old-llamacpp-error-field-then-done",
        "ggerganov/llama.cpp@c392e50 examples/server/server.cpp:3911 server_sent_event(sink, \"error\", ...), "
        ":3917 ev_done; utils.hpp:487",
        RawReply(body=b'error: {"code":400,"message":"the request exceeds the available context size, try '
                      b'increasing it","type":"invalid_request_error"}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(raises=ResponseError, match="exceeds the available context size",
                attrs={"code": 400, "type": "invalid_request_error"})),
    Row("Q3-old-llamacpp-error-field-mid-stream",
        "ggerganov/llama.cpp@c392e50 examples/server/server.cpp:3911 and :3917",
        RawReply(body=b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Once"}}],'
                      b'"created":1740000000,"id":"chatcmpl-b2","model":"gpt-3.5-turbo",'
                      b'"object":"chat.completion.chunk"}\n\n'
                      b'error: {"code":500,"message":"slot unavailable","type":"server_error"}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(raises=ResponseError, match="slot unavailable", attrs={"partial_text": "Once"})),
    Row("Q3-standard-event-error-with-data",
        "the spec-compliant form of the same error (event: error + data:), which the decoder keeps as "
        "event \"error\" and the client acts on by name",
        RawReply(body=b'data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
                      b'event: error\ndata: upstream closed the connection\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(raises=ResponseError, match="error event mid-stream: upstream closed the connection",
                attrs={"partial_text": "Hi"})),
    Row("Q4-old-llamacpp-tools-with-stream-rejected",
        "ggerganov/llama.cpp@c392e50 examples/server/utils.hpp:550-554",
        RawReply(500, JSON, b'{"error":{"code":500,"message":"Cannot use tools with stream","type":"server_error"}}',
                 "length"),
        Outcome(raises=InternalServerError, match="Cannot use tools with stream")),
    Row("Q5-llamacpp-tool-call-deltas",
        "ggml-org/llama.cpp common/chat.cpp common_chat_msg_diff_to_json_oaicompat; "
        "tools/server/server-task.cpp to_json_oaicompat_chat_stream",
        RawReply(body=b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],'
                      b'"created":1,"id":"chatcmpl-c3","model":"m","object":"chat.completion.chunk"}\n\n'
                      b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,'
                      b'"id":"Vv1XGdm7qj","type":"function","function":{"name":"get_weather","arguments":""}}]}}],'
                      b'"created":1,"id":"chatcmpl-c3","model":"m","object":"chat.completion.chunk"}\n\n'
                      b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,'
                      b'"function":{"arguments":"{\\"city\\":"}}]}}],"object":"chat.completion.chunk"}\n\n'
                      b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,'
                      b'"function":{"arguments":"\\"Paris\\"}"}}]}}],"object":"chat.completion.chunk"}\n\n'
                      b'data: {"choices":[{"finish_reason":"tool_calls","index":0,"delta":{}}],'
                      b'"object":"chat.completion.chunk"}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("Vv1XGdm7qj", "get_weather", '{"city":"Paris"}'),), finish="tool_calls")),
    Row("Q6-llamacpp-usage-in-own-chunk-with-timings",
        "ggml-org/llama.cpp tools/server/server-task.cpp to_json_oaicompat_chat_stream "
        "(empty choices for the last chunk when including usage)",
        RawReply(body=b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hi"}}],'
                      b'"created":1,"id":"chatcmpl-d4","model":"m","object":"chat.completion.chunk"}\n\n'
                      b'data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1,'
                      b'"id":"chatcmpl-d4","model":"m","object":"chat.completion.chunk"}\n\n'
                      b'data: {"choices":[],"created":1,"id":"chatcmpl-d4","model":"m","object":"chat.completion.chunk",'
                      b'"usage":{"completion_tokens":2,"prompt_tokens":9,"total_tokens":11},'
                      b'"timings":{"prompt_n":9,"predicted_n":2,"predicted_ms":12.5}}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="Hi", usage=Usage(9, 2, 11))),
    Row("Q6-old-llamacpp-usage-on-the-finish-chunk",
        "ggerganov/llama.cpp@c392e50 examples/server/server.cpp:790-820",
        RawReply(body=b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hi"}}],'
                      b'"created":1740000000,"id":"chatcmpl-e5","model":"gpt-3.5-turbo",'
                      b'"system_fingerprint":"b4750-c392e50","object":"chat.completion.chunk"}\n\n'
                      b'data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1740000000,'
                      b'"id":"chatcmpl-e5","model":"gpt-3.5-turbo","system_fingerprint":"b4750-c392e50",'
                      b'"object":"chat.completion.chunk","usage":{"completion_tokens":1,"prompt_tokens":4,'
                      b'"total_tokens":5},"timings":{"prompt_n":4,"predicted_n":1}}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="Hi", usage=Usage(4, 1, 5))),
    Row("Q7-llamacpp-models-with-meta-and-models-key",
        "ggml-org/llama.cpp tools/server/server-context.cpp get_models; old examples/server/server.cpp:4054-4069",
        RawReply(200, JSON, b'{"models":[{"name":"m","model":"m","modified_at":"","size":"","digest":""}],'
                            b'"object":"list","data":[{"id":"/models/x.gguf","object":"model","created":1750000000,'
                            b'"owned_by":"llamacpp","meta":{"n_ctx_train":4096,"n_params":7000000000}}]}', "length"),
        Outcome(models=("/models/x.gguf",)), call="models"),
    Row("Q8-llamacpp-bare-keepalive-comments",
        "ggml-org/llama.cpp tools/server/server-schema.cpp sse_ping_interval",
        RawReply(body=b':\n\n:\n\n'
                      b'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"ok"}}],'
                      b'"object":"chat.completion.chunk"}\n\n'
                      b':\n\n'
                      b'data: {"choices":[{"finish_reason":"stop","index":0,"delta":{}}],'
                      b'"object":"chat.completion.chunk"}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="ok")),
    # --------------------------------------------------------------------------------------- vLLM
    Row("Q9-vllm-error-then-done",
        "vllm-project/vllm vllm/entrypoints/openai/chat_completion/serving.py "
        "chat_completion_stream_generator: create_streaming_error_response, then data: [DONE]",
        RawReply(body=b'data: {"id":"chatcmpl-f6","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"error":{"message":"Failed to create the tool parser","type":"BadRequestError",'
                      b'"param":null,"code":400}}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(raises=ResponseError, match="Failed to create the tool parser",
                attrs={"code": 400, "type": "BadRequestError", "param": None})),
    Row("Q10-old-vllm-flat-error-body",
        "vllm-project/vllm (old) vllm/entrypoints/openai/protocol.py class ErrorResponse: object=\"error\"",
        RawReply(400, JSON, b'{"object":"error","message":"This model\'s maximum context length is 4096 tokens. '
                            b'However, you requested 5000 tokens.","type":"BadRequestError","param":null,"code":400}',
                 "length"),
        Outcome(raises=BadRequestError, match="maximum context length is 4096"), call="json"),
    Row("Q10-flat-error-object-as-a-stream-event",
        "vllm-project/vllm (old) protocol.py ErrorResponse (object=\"error\"); the same flat body from "
        "FastChat/SGLang, here inside a data: event",
        RawReply(body=b'data: {"object":"error","message":"This model\'s maximum context length is 4096 tokens.",'
                      b'"type":"BadRequestError","param":null,"code":400}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(raises=ResponseError, match="maximum context length is 4096", attrs={"code": 400})),
    Row("Q11-vllm-continuous-usage-and-extra-keys",
        "vllm-project/vllm vllm/entrypoints/openai/engine/protocol.py StreamOptions(continuous_usage_stats); "
        "serving.py should_include_usage",
        RawReply(body=b'data: {"id":"chatcmpl-g7","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,'
                      b'"finish_reason":null}],"usage":{"prompt_tokens":5,"total_tokens":5,"completion_tokens":0}}\n\n'
                      b'data: {"id":"chatcmpl-g7","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null,'
                      b'"token_ids":[9906]}],"usage":{"prompt_tokens":5,"total_tokens":6,"completion_tokens":1}}\n\n'
                      b'data: {"id":"chatcmpl-g7","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":"stop",'
                      b'"stop_reason":null}],"usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2}}\n\n'
                      b'data: {"id":"chatcmpl-g7","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[],"usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2}}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="Hello!", usage=Usage(5, 2, 7))),
    Row("Q12-vllm-last-arguments-in-the-finish-chunk",
        "vllm-project/vllm chat_completion/serving.py: remaining_call = expected_call.replace(actual_call, \"\", 1)",
        RawReply(body=b'data: {"id":"chatcmpl-h8","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-h8","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"tool_calls":[{"id":"chatcmpl-tool-8f2e","type":"function",'
                      b'"index":0,"function":{"name":"get_weather"}}]},"logprobs":null,"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-h8","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":'
                      b'"{\\"city\\": \\"Par"}}]},"logprobs":null,"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-h8","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"is\\"}"}}]},'
                      b'"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("chatcmpl-tool-8f2e", "get_weather", '{"city": "Paris"}'),), finish="tool_calls")),
    Row("Q12-vllm-named-tool-choice-ends-with-stop",
        "vllm-project/vllm chat_completion/serving.py: \"tool_calls\" only if tools_streamed and not "
        "tool_choice_function_name",
        RawReply(body=b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"id":"chatcmpl-tool-1","type":"function",'
                      b'"index":0,"function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("chatcmpl-tool-1", "get_weather", '{"city":"Paris"}'),), finish="stop")),
    # ---------------------------------------------------------------------------------------- TGI
    Row("Q13-tgi-error-object-with-http-status-then-done",
        "huggingface/text-generation-inference@db931fc router/src/infer/mod.rs:445-466 into_openai_event; "
        "router/src/server.rs:1241,1244",
        RawReply(body=b'data: {"error":{"message":"Input validation error: `inputs` tokens + `max_new_tokens` must '
                      b'be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`","http_status_code":422}}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(raises=ResponseError, match=r"Input validation error.*HTTP status 422")),
    Row("Q13-old-tgi-error-string-with-error-type",
        "huggingface/text-generation-inference router/src/server.rs:2428 impl From<InferError> for Event "
        "(before 6489f852, 2024-11-15)",
        RawReply(body=b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"The"},"logprobs":null,'
                      b'"finish_reason":null}],"id":"","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"system_fingerprint":"2.3.1-native"}\n\n'
                      b'data: {"error":"Request failed during generation: Server error: CUDA out of memory",'
                      b'"error_type":"generation"}\n\n'),
        Outcome(raises=ResponseError, match="CUDA out of memory",
                attrs={"type": "generation", "partial_text": "The"})),
    Row("Q14-tgi-422-error-string-body",
        "huggingface/text-generation-inference@db931fc router/src/server.rs:2404-2426 "
        "impl From<InferError> for (StatusCode, Json<ErrorResponse>)",
        RawReply(422, JSON, b'{"error":"Template error: unknown filter: filter tojson is unknown",'
                            b'"error_type":"template_error"}', "length"),
        Outcome(raises=UnprocessableEntityError, match="Template error: unknown filter")),
    Row("Q15-tgi-envelope-empty-id-null-usage-role-every-delta",
        "huggingface/text-generation-inference@db931fc router/src/lib.rs:758-767, :808-824 (id: String::new()); "
        "chat.rs:101-137",
        RawReply(body=b'data: {"object":"chat.completion.chunk","id":"","created":1736000000,"model":"m",'
                      b'"system_fingerprint":"3.3.6-native","choices":[{"index":0,"delta":{"role":"assistant",'
                      b'"content":"Hi"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1736000000,"model":"m",'
                      b'"system_fingerprint":"3.3.6-native","choices":[{"index":0,"delta":{"role":"assistant",'
                      b'"content":" there"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1736000000,"model":"m",'
                      b'"system_fingerprint":"3.3.6-native","choices":[{"index":0,"delta":{"role":"assistant",'
                      b'"content":""},"logprobs":null,"finish_reason":"length"}],"usage":null}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1736000000,"model":"m",'
                      b'"system_fingerprint":"3.3.6-native","choices":[],"usage":{"prompt_tokens":3,'
                      b'"completion_tokens":2,"total_tokens":5}}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="Hi there", finish="length", usage=Usage(3, 2, 5))),
    Row("Q16-tgi-stop-sequence-is-stop",
        "huggingface/text-generation-inference@db931fc router/src/lib.rs:1412-1439 FinishReason::format",
        RawReply(body=b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":"4"},"logprobs":null,'
                      b'"finish_reason":null}],"usage":null}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,'
                      b'"finish_reason":"stop_sequence"}],"usage":null}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="4", finish="stop")),
    Row("Q16-eos-token-is-stop-and-empty-reason-is-none",
        "huggingface/text-generation-inference router/src/lib.rs FinishReason (eos_token, native routes)",
        RawReply(body=b'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":""}]}\n\n'
                      b'data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"eos_token"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="ab", finish="stop")),
    Row("Q17-tgi-tool-call-repeats-id-type-and-null-name",
        "huggingface/text-generation-inference@db931fc router/src/chat.rs:107-118, :186-249 ChatState::push; "
        "lib.rs:794-805",
        RawReply(body=b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"0","type":"function","function":'
                      b'{"name":"get_current_weather","arguments":"{"}}]},"logprobs":null,"finish_reason":null}],'
                      b'"usage":null}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"0","type":"function","function":'
                      b'{"name":null,"arguments":" \\"location"}}]},"logprobs":null,"finish_reason":null}],'
                      b'"usage":null}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"0","type":"function","function":'
                      b'{"name":null,"arguments":"\\": \\"Paris\\"}"}}]},"logprobs":null,"finish_reason":null}],'
                      b'"usage":null}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"stop"}],'
                      b'"usage":null}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("0", "get_current_weather", '{ "location": "Paris"}'),), finish="stop")),
    Row("Q18-old-tgi-grammar-wrapper-and-no-name",
        "huggingface/text-generation-inference before 622908de router/src/lib.rs ChatCompletionChunk::new "
        "(name: None, id: String::new()); server.rs regex \\{\"function\":\\{\"_name\"",
        RawReply(body=b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"","type":"function","function":'
                      b'{"name":null,"arguments":"{\\"function\\": {\\"_name\\": \\"get"}}]},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"","type":"function","function":'
                      b'{"name":null,"arguments":"_weather\\", \\"location\\": \\"Paris\\"}}"}}]},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"eos_token"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("", "get_weather", '{"location": "Paris"}'),), finish="stop")),
    Row("Q18-old-tgi-non-stream-arguments-object",
        "huggingface/text-generation-inference before 622908de: FunctionDefinition.arguments: serde_json::Value "
        "without serialize_as_string",
        RawReply(200, JSON, b'{"object":"chat.completion","id":"","created":1,"model":"m","system_fingerprint":'
                            b'"2.4.0-native","choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"0",'
                            b'"type":"function","function":{"description":null,"name":"get_weather","arguments":'
                            b'{"location":"Paris"}}}]},"logprobs":null,"finish_reason":"eos_token"}],'
                            b'"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}}', "length"),
        Outcome(tool_calls=({"id": "0", "type": "function", "function": {
            "description": None, "name": "get_weather", "arguments": '{"location": "Paris"}'}},),
            usage=Usage(30, 12, 42)), call="json"),
    Row("Q19-old-tgi-eof-after-finish-without-done",
        "huggingface/text-generation-inference commit d789de32 (2024-07-11) \"append DONE message to chat stream\"",
        RawReply(body=b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","content":"Paris"},"logprobs":null,"finish_reason":null}]}\n\n'
                      b'data: {"object":"chat.completion.chunk","id":"","created":1,"model":"m","choices":[{"index":0,'
                      b'"delta":{"role":"assistant","content":"."},"logprobs":null,"finish_reason":"eos_token"}]}\n\n'),
        Outcome(text="Paris.", finish="stop")),
    Row("Q20-tgi-axum-keepalive-and-models-created-0",
        "huggingface/text-generation-inference@db931fc router/src/server.rs:176-187 (models), "
        ":1247 KeepAlive::default()",
        RawReply(200, JSON, b'{"object":"list","data":[{"id":"meta-llama/Llama-3.1-8B-Instruct","object":"model",'
                            b'"created":0,"owned_by":"meta-llama/Llama-3.1-8B-Instruct"}]}', "length"),
        Outcome(models=("meta-llama/Llama-3.1-8B-Instruct",)), call="models"),
    # ------------------------------------------------------------------------------------- Ollama
    Row("Q21-ollama-error-after-first-chunk-becomes-empty-chunk-then-eof",
        "ollama/ollama@fb30760 server/routes.go:2097-2127 streamResponse; middleware/openai.go:176-183, :80-160",
        RawReply(body=b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1,"model":"llama3.1",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant",'
                      b'"content":"The sky"},"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1,"model":"",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":""},'
                      b'"finish_reason":null}]}\n\n'),
        Outcome(text="The sky", finish=None, warns="without [DONE] and without a finish reason")),
    Row("Q22-ollama-404-before-the-stream",
        "ollama/ollama@fb30760 openai/openai.go:21-30, :225-236 NewError; middleware/openai.go:64-78 writeError",
        RawReply(404, JSON, b'{"error":{"message":"model \\"x\\" not found, try pulling it first",'
                            b'"type":"not_found_error","param":null,"code":null}}', "length"),
        Outcome(raises=NotFoundError, match='model "x" not found, try pulling it first')),
    Row("Q23-ollama-whole-calls-with-index-one-delta",
        "ollama/ollama@fb30760 openai/openai.go:185-195 ToolCall incl. Index, :249-267 ToToolCalls, "
        ":301-340 toChunk, :369-395 FinishChunk",
        RawReply(body=b'data: {"id":"chatcmpl-472","object":"chat.completion.chunk","created":1,"model":"llama3.1",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"",'
                      b'"tool_calls":[{"id":"call_x","index":0,"type":"function","function":{"name":"get_weather",'
                      b'"arguments":"{\\"city\\":\\"Paris\\"}"}},{"id":"call_y","index":1,"type":"function",'
                      b'"function":{"name":"get_time","arguments":"{\\"tz\\":\\"CET\\"}"}}]},"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-472","object":"chat.completion.chunk","created":1,"model":"llama3.1",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{},'
                      b'"finish_reason":"tool_calls"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(WEATHER, call("call_y", "get_time", '{"tz":"CET"}')), finish="tool_calls")),
    Row("Q23-old-ollama-no-index-several-calls-one-delta",
        "ollama/ollama before 5f8051180 (2024-11-29, git log -S'json:\"index\"'): ToolCall without Index; "
        "8edecb5c6^:openai/openai.go toChunk (role every chunk, finish on the last chunk)",
        RawReply(body=b'data: {"id":"chatcmpl-88","object":"chat.completion.chunk","created":1,"model":"llama3.1",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"",'
                      b'"tool_calls":[{"id":"call_x","type":"function","function":{"name":"get_weather",'
                      b'"arguments":"{\\"city\\":\\"Paris\\"}"}},{"id":"call_y","type":"function",'
                      b'"function":{"name":"get_time","arguments":"{\\"tz\\":\\"CET\\"}"}}]},'
                      b'"finish_reason":"tool_calls"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(WEATHER, call("call_y", "get_time", '{"tz":"CET"}')), finish="tool_calls")),
    Row("Q23-old-ollama-no-index-calls-in-later-chunks",
        "ollama/ollama before 5f8051180: calls without index, one per chunk, told apart by id",
        RawReply(body=b'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"llama3.1",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_x",'
                      b'"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"llama3.1",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_y",'
                      b'"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Rome\\"}"}}]},'
                      b'"finish_reason":"stop"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(WEATHER, call("call_y", "get_weather", '{"city":"Rome"}')), finish="stop")),
    Row("Q23-no-index-no-id-fragments-continue-the-last-call",
        "joiner rule for index-less fragments (ollama before 5f8051180): neither index nor id continues the last "
        "call; a named fragment after a whole call starts another",
        RawReply(body=b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"type":"function","function":'
                      b'{"name":"get_weather","arguments":"{\\"city\\":"}}]},"finish_reason":null}]}\n\n'
                      b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"\\"Paris\\"}"}}]},'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"type":"function","function":'
                      b'{"name":"get_time","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("", "get_weather", '{"city":"Paris"}'), call("", "get_time", "{}")),
                finish="tool_calls")),
    Row("Q24-ollama-models-data-null",
        "ollama/ollama@fb30760 openai/openai.go:450-470 (var data []Model marshals as null)",
        RawReply(200, JSON, b'{"object":"list","data":null}', "length"),
        Outcome(models=()), call="models"),
    Row("Q24-ollama-native-api-chat-is-ndjson",
        "ollama/ollama@fb30760 server/routes.go:2098 (application/x-ndjson)",
        RawReply(200, {"Content-Type": "application/x-ndjson"},
                 b'{"model":"llama3.1","created_at":"2026-08-01T10:00:00.000000Z","message":{"role":"assistant",'
                 b'"content":"Hi"},"done":false}\n'
                 b'{"model":"llama3.1","created_at":"2026-08-01T10:00:00.100000Z","message":{"role":"assistant",'
                 b'"content":""},"done_reason":"stop","done":true,"total_duration":1000}\n'),
        Outcome(raises=ResponseError, match=r"native API.*needs /v1")),
    Row("Q24-ollama-native-api-chat-non-stream",
        "ollama/ollama@fb30760 server/routes.go ChatHandler (stream false: one JSON object, message + done)",
        RawReply(200, JSON, b'{"model":"llama3.1","created_at":"2026-08-01T10:00:00.000000Z","message":{"role":'
                            b'"assistant","content":"Hi"},"done_reason":"stop","done":true,"total_duration":1000}',
                 "length"),
        Outcome(raises=ResponseError, match=r"native API.*needs /v1"), call="json"),
    Row("Q24-ollama-reasoning-in-its-own-chunk",
        "ollama/ollama@fb30760 openai/openai.go:43-48 (Delta reasoning), :344-365 (split)",
        RawReply(body=b'data: {"id":"chatcmpl-5","object":"chat.completion.chunk","created":1,"model":"qwen3",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant",'
                      b'"content":"","reasoning":"Two plus two."},"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-5","object":"chat.completion.chunk","created":1,"model":"qwen3",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":"4"},'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-5","object":"chat.completion.chunk","created":1,"model":"qwen3",'
                      b'"system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="4", reasoning="Two plus two.")),
    # ---------------------------------------------------------------------------- llama-cpp-python
    Row("Q25-llama-cpp-python-error-drops-the-connection",
        "abetlen/llama-cpp-python@3691546 llama_cpp/server/app.py:191-222 get_event_publisher; "
        "llama_cpp/llama.py:1346",
        RawReply(body=b'data: {"id":"chatcmpl-7a1b","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"content":"Par"},"logprobs":null,"finish_reason":null}]}\n\n',
                 framing="drop"),
        Outcome(raises=APIConnectionError, match="", attrs={"partial_text": "Par"})),
    Row("Q25-llama-cpp-python-drop-before-any-event",
        "abetlen/llama-cpp-python@3691546 llama_cpp/llama.py:1346 (the context check raises inside the generator)",
        RawReply(body=b"", framing="drop"),
        Outcome(raises=APIConnectionError)),
    Row("Q26-llama-cpp-python-forced-tool-repeats-name-and-function-call",
        "abetlen/llama-cpp-python@3691546 llama_cpp/llama_chat_format.py:477-600 _stream_response_to_function_stream",
        RawReply(body=b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
                      b'[{"index":0,"finish_reason":null,"logprobs":null,"delta":{"role":"assistant","content":null,'
                      b'"function_call":null,"tool_calls":null}}]}\n\n'
                      b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
                      b'[{"index":0,"finish_reason":null,"logprobs":null,"delta":{"role":null,"content":null,'
                      b'"function_call":{"name":"get_weather","arguments":"{\\"city\\": \\"Pa"},"tool_calls":'
                      b'[{"index":0,"id":"call__0_get_weather_cmpl-1","type":"function","function":{"name":'
                      b'"get_weather","arguments":"{\\"city\\": \\"Pa"}}]}}]}\n\n'
                      b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
                      b'[{"index":0,"finish_reason":null,"logprobs":null,"delta":{"role":null,"content":null,'
                      b'"function_call":{"name":"get_weather","arguments":"ris\\"}"},"tool_calls":'
                      b'[{"index":0,"id":"call__0_get_weather_cmpl-1","type":"function","function":{"name":'
                      b'"get_weather","arguments":"ris\\"}"}}]}}]}\n\n'
                      b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
                      b'[{"index":0,"finish_reason":"tool_calls","logprobs":null,"delta":{"role":null,"content":null,'
                      b'"function_call":null,"tool_calls":null}}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("call__0_get_weather_cmpl-1", "get_weather", '{"city": "Paris"}'),),
                finish="tool_calls")),
    Row("Q26-legacy-function-call-alone-becomes-a-tool-call",
        "the pre-tools functions API (delta.function_call, finish_reason \"function_call\") that "
        "llama-cpp-python's chunks imitate beside tool_calls, llama_chat_format.py:477-600",
        RawReply(body=b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"function_call":'
                      b'{"name":"get_weather","arguments":""}},"finish_reason":null}]}\n\n'
                      b'data: {"choices":[{"index":0,"delta":{"function_call":{"arguments":"{\\"city\\":\\"Paris\\"}"}},'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"function_call"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("", "get_weather", '{"city":"Paris"}'),), finish="tool_calls")),
    Row("Q27-sse-starlette-crlf-and-ping-comments",
        "sse-starlette 3.7.0 sse.py:277-278 (DEFAULT_PING_INTERVAL = 15, DEFAULT_SEPARATOR = \"\\r\\n\"), "
        ":504 ping comment; llama-cpp-python llama_chat_format.py:360-402",
        RawReply(body=b': ping - 2026-08-01 10:00:00.000000+00:00\r\n\r\n'
                      b'data: {"id":"chatcmpl-0b5f","model":"m","created":1,"object":"chat.completion.chunk",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]}\r\n\r\n'
                      b'data: {"id":"chatcmpl-0b5f","model":"m","created":1,"object":"chat.completion.chunk",'
                      b'"choices":[{"index":0,"delta":{"content":"Bonjour"},"logprobs":null,"finish_reason":null}]}\r\n\r\n'
                      b': ping - 2026-08-01 10:00:15.000000+00:00\r\n\r\n'
                      b'data: {"id":"chatcmpl-0b5f","model":"m","created":1,"object":"chat.completion.chunk",'
                      b'"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\r\n\r\n'
                      b'data: [DONE]\r\n\r\n'),
        Outcome(text="Bonjour")),
    Row("Q27-llama-cpp-python-lf-separator-and-ping",
        "abetlen/llama-cpp-python@3691546 llama_cpp/server/app.py:329-342,498-511 EventSourceResponse(sep=\"\\n\")",
        RawReply(body=b': ping - 2026-08-01 10:00:00.000000+00:00\n\n'
                      b'data: {"id":"chatcmpl-0b5f","choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-0b5f","choices":[{"index":0,"delta":{"content":"Salut"},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-0b5f","choices":[{"index":0,"delta":{},"logprobs":null,'
                      b'"finish_reason":"stop"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="Salut")),
    # ------------------------------------------------------------------------------------ LiteLLM
    Row("Q28-litellm-error-with-None-strings-and-string-code",
        "BerriAI/litellm litellm/proxy/proxy_server.py async_data_generator: ProxyException(type=getattr(e, "
        "\"type\", \"None\"), param=..., code=getattr(e, \"status_code\", 500)); yield f\"data: {error_returned}\"",
        RawReply(body=b'data: {"id":"chatcmpl-77","choices":[{"index":0,"delta":{"content":"Sure","role":"assistant"}}],'
                      b'"created":1,"model":"gpt-4o","object":"chat.completion.chunk"}\n\n'
                      b'data: {"error": {"message": "litellm.RateLimitError: RateLimitError: OpenAIException - '
                      b'Rate limit reached", "type": "None", "param": "None", "code": "429"}}\n\n'),
        Outcome(raises=ResponseError, match="litellm.RateLimitError",
                attrs={"code": "429", "type": None, "param": None, "partial_text": "Sure"})),
    Row("Q28-ancient-litellm-non-json-error-only-event",
        "BerriAI/litellm (2023 to early 2024) proxy_server.py async_data_generator: yield f\"data: {str(e)}\\n\\n\"",
        RawReply(body=b'data: Connection error.\n\n'),
        Outcome(raises=ResponseError, match=r"1 malformed data line.*Connection error\.",
                warns="skipped a data line that is not a JSON object")),
    Row("Q28-ancient-litellm-non-json-error-mid-stream",
        "BerriAI/litellm (2023 to early 2024) proxy_server.py async_data_generator: yield f\"data: {str(e)}\\n\\n\"",
        RawReply(body=b'data: {"id":"chatcmpl-78","choices":[{"index":0,"delta":{"content":"Sure","role":"assistant"}}],'
                      b'"created":1,"model":"gpt-4o","object":"chat.completion.chunk"}\n\n'
                      b'data: Connection error.\n\n'),
        Outcome(raises=ResponseError, match=r"not JSON.*Connection error\.", attrs={"partial_text": "Sure"},
                warns="skipped a data line that is not a JSON object")),
    Row("Q29-litellm-exclude-none-and-empty-usage",
        "BerriAI/litellm proxy_server.py async_data_generator: chunk.model_dump_json(exclude_none=True); "
        "usage={} in issue #1371 logs",
        RawReply(body=b'data: {"id":"chatcmpl-79","choices":[{"index":0,"delta":{"content":"x","role":"assistant"}}],'
                      b'"created":1,"model":"gpt-4o","object":"chat.completion.chunk","usage":{}}\n\n'
                      b'data: {"id":"chatcmpl-79","choices":[{"index":0,"delta":{"content":"y"}}],"created":1,'
                      b'"model":"gpt-4o","object":"chat.completion.chunk","usage":{},'
                      b'"provider_specific_fields":{"x":1}}\n\n'
                      b'data: {"id":"chatcmpl-79","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"created":1,'
                      b'"model":"gpt-4o","object":"chat.completion.chunk","usage":{}}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(text="xy", usage=None)),
    # ---------------------------------------------------------------------------------- LM Studio
    Row("Q30-lmstudio-empty-name-on-continuations",
        "lmstudio-ai/lmstudio-bug-tracker #649, #723; 0xPlaygrounds/rig PR #423/#442 (name Some(\"\") on "
        "arguments chunks)",
        RawReply(body=b'data: {"id":"chatcmpl-lm1","object":"chat.completion.chunk","created":1,"model":"qwen/qwen3-4b",'
                      b'"system_fingerprint":"qwen/qwen3-4b","choices":[{"index":0,"delta":{"role":"assistant",'
                      b'"content":null,"tool_calls":[{"index":0,"id":"365174485","type":"function","function":'
                      b'{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-lm1","object":"chat.completion.chunk","created":1,"model":"qwen/qwen3-4b",'
                      b'"system_fingerprint":"qwen/qwen3-4b","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,'
                      b'"type":"function","function":{"name":"","arguments":"{\\"city\\":\\"Paris"}}]},'
                      b'"logprobs":null,"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-lm1","object":"chat.completion.chunk","created":1,"model":"qwen/qwen3-4b",'
                      b'"system_fingerprint":"qwen/qwen3-4b","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,'
                      b'"type":"function","function":{"name":"","arguments":"\\"}"}}]},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"id":"chatcmpl-lm1","object":"chat.completion.chunk","created":1,"model":"qwen/qwen3-4b",'
                      b'"system_fingerprint":"qwen/qwen3-4b","choices":[{"index":0,"delta":{},"logprobs":null,'
                      b'"finish_reason":"tool_calls"}]}\n\n'
                      b'data: [DONE]\n\n'),
        Outcome(tool_calls=(call("365174485", "get_weather", '{"city":"Paris"}'),), finish="tool_calls")),
    Row("Q31-lmstudio-error-message-only",
        "zendev-sh/goai PR #110 (LM Studio SSE errors as embedded error.message objects without type)",
        RawReply(body=b'data: {"id":"chatcmpl-lm2","object":"chat.completion.chunk","created":1,"model":"m",'
                      b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Let"},"logprobs":null,'
                      b'"finish_reason":null}]}\n\n'
                      b'data: {"error":{"message":"Compute error."},"message":"Compute error."}\n\n'),
        Outcome(raises=ResponseError, match="Compute error.",
                attrs={"type": None, "code": None, "partial_text": "Let"})),
]

assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def server() -> Iterator[RawReplyServer]:
    with RawReplyServer({row.id: row.reply for row in ROWS}) as srv:
        yield srv  # type: ignore[misc]


def _run(row: Row, base_url: str) -> list[Any]:
    with OpenaiTemplate(base_url=base_url, max_retries=0,
                        timeout=Timeout(connect=5, read=5, stream_idle=5)) as provider:
        if row.call == "models":
            return list(provider.get_models())
        return list(provider.create_completion("m", USER, stream=row.call == "stream"))


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_quirk(server: RawReplyServer, row: Row, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="chatgpt_sync")
    expected = row.outcome
    if expected.raises is not None:
        with pytest.raises(expected.raises) as info:
            _run(row, server.base_url_for(row.id))
        assert re.search(expected.match, str(info.value)), str(info.value)
        for name, value in expected.attrs.items():
            assert getattr(info.value, name) == value, name
    elif row.call == "models":
        assert tuple(_run(row, server.base_url_for(row.id))) == expected.models
    else:
        pieces = _run(row, server.base_url_for(row.id))
        assert "".join(p for p in pieces if isinstance(p, str)) == expected.text
        assert "".join(p.text for p in pieces if isinstance(p, Reasoning)) == expected.reasoning
        tool_calls = [p for p in pieces if isinstance(p, ToolCalls)]
        assert len(tool_calls) <= 1
        assert tuple(tool_calls[0].tool_calls if tool_calls else ()) == expected.tool_calls
        assert [p for p in pieces if isinstance(p, FinishReason)] == [FinishReason(expected.finish)]
        assert [p for p in pieces if isinstance(p, Usage)] == ([expected.usage] if expected.usage else [])
        if tool_calls:  # the calls come before the turn's end
            assert pieces.index(tool_calls[0]) < pieces.index(FinishReason(expected.finish))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    if expected.warns:
        assert any(expected.warns in message for message in warnings), warnings
    else:
        assert not warnings, warnings
    assert server.count(row.id) == 1  # one request each: nothing retried or replayed
