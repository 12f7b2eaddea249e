"""Strict request validation for the OpenAI API emulator.

Checks a parsed body the way api.openai.com does and raises :class:`ApiError` with OpenAI's own
wording (message, type, param, code), so a client's error mapping sees what it would see in
production. Unknown top-level keys are rejected, as OpenAI does.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ApiError", "validate_chat", "validate_images", "unparseable"]
_CHAT_KEYS = frozenset({
    "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
    "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "moderation", "n",
    "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options",
    "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed",
    "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
    "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
})
_IMAGE_KEYS = frozenset({"prompt", "model", "n", "size", "response_format", "quality", "style", "user",
                         "background", "moderation", "output_format", "output_compression"})
_ROLES = ("system", "developer", "user", "assistant", "tool")
_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "audio",
                           "function_call"})
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MISSING = object()


class ApiError(Exception):
    """An error answer: HTTP status plus OpenAI's ``{"error": {...}}`` body."""

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def payload(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _bad_type(param: str, expected: str, value: Any) -> ApiError:
    return ApiError(400, f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
                    param=param, code="invalid_type")


def _missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _bad_value(param: str, value: Any, allowed: tuple[str, ...]) -> ApiError:
    listed = ", ".join(f"'{a}'" for a in allowed[:-1]) + f", and '{allowed[-1]}'"
    return ApiError(400, f"Invalid value: '{value}'. Supported values are: {listed}.", param=param,
                    code="invalid_value")


def _number(body: dict[str, Any], key: str, low: float | None, high: float | None, integer: bool = False) -> None:
    value = body.get(key)
    if value is None:
        return  # OpenAI treats an explicit null like an omitted parameter
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise _bad_type(key, "an integer" if integer else "a decimal", value)
    kind = "integer" if integer else "decimal"
    if low is not None and value < low:
        raise ApiError(400, f"Invalid '{key}': {kind} below minimum value. Expected a value >= {low}, but got "
                       f"{value} instead.", param=key, code=f"{kind}_below_min_value")
    if high is not None and value > high:
        raise ApiError(400, f"Invalid '{key}': {kind} above maximum value. Expected a value <= {high}, but got "
                       f"{value} instead.", param=key, code=f"{kind}_above_max_value")


def _check_unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = [key for key in body if key not in allowed]
    if unknown:
        noun = "argument" if len(unknown) == 1 else "arguments"
        raise ApiError(400, f"Unrecognized request {noun} supplied: {', '.join(unknown)}")


def _check_model(body: dict[str, Any], models: list[str], required: bool = True) -> None:
    model = body.get("model")
    if model is None and not required:
        return
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter")
    if model not in models:
        raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.",
                       code="model_not_found")


def _check_parts(param: str, parts: list[Any], role: str) -> None:
    if not parts:
        raise ApiError(400, f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an "
                       "empty array instead.", param=param, code="empty_array")
    for j, part in enumerate(parts):
        where = f"{param}[{j}]"
        if not isinstance(part, dict):
            raise _bad_type(where, "an object", part)
        kind = part.get("type")
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise _bad_type(f"{where}.text", "a string", part.get("text"))
        elif kind == "image_url" and role == "user":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                raise _missing(f"{where}.image_url.url")
        else:
            raise _bad_value(f"{where}.type", kind, ("text", "image_url") if role == "user" else ("text",))


def _check_tool_calls(param: str, calls: Any) -> None:
    if not isinstance(calls, list) or not calls:
        raise _bad_type(param, "a non-empty array", calls)
    for j, call in enumerate(calls):
        where = f"{param}[{j}]"
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            raise _missing(f"{where}.id")
        if call.get("type") != "function":
            raise _bad_value(f"{where}.type", call.get("type"), ("function", "custom"))
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) \
                or not isinstance(function.get("arguments"), str):
            raise _missing(f"{where}.function.arguments")


def _check_message(i: int, message: Any) -> None:
    param = f"messages[{i}]"
    if not isinstance(message, dict):
        raise _bad_type(param, "an object", message)
    for key in message:
        if key not in _MESSAGE_KEYS:
            # OpenAI's schema validator words nested extras like this, dotted path and all.
            raise ApiError(400, f"Additional properties are not allowed ('{key}' was unexpected) - 'messages.{i}'",
                           param=param)
    role = message.get("role")
    if role is None:
        raise _missing(f"{param}.role")
    if role not in _ROLES:
        raise _bad_value(f"{param}.role", role, _ROLES)
    content = message.get("content", _MISSING)
    if "tool_calls" in message:
        if role != "assistant":
            raise ApiError(400, f"Invalid parameter: 'tool_calls' is only allowed for messages with role "
                           f"'assistant'.", param=f"{param}.tool_calls")
        _check_tool_calls(f"{param}.tool_calls", message["tool_calls"])
    if content is _MISSING or content is None:
        if not (role == "assistant" and message.get("tool_calls")):
            raise _missing(f"{param}.content")
    elif isinstance(content, list):
        _check_parts(f"{param}.content", content, role)
    elif not isinstance(content, str):
        raise _bad_type(f"{param}.content", "one of a string or array of objects", content)
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise _missing(f"{param}.tool_call_id")
    if "name" in message and not isinstance(message["name"], str):
        raise _bad_type(f"{param}.name", "a string", message["name"])


def _check_tools(body: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad_type("tools", "an array", tools)
        if not tools:
            raise ApiError(400, "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an "
                           "empty array instead.", param="tools", code="empty_array")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise _bad_type(f"tools[{i}]", "an object", tool)
            if tool.get("type") != "function":
                raise _bad_value(f"tools[{i}].type", tool.get("type"), ("function", "custom"))
            function = tool.get("function")
            if not isinstance(function, dict) or "name" not in function:
                raise _missing(f"tools[{i}].function.name" if isinstance(function, dict) else f"tools[{i}].function")
            if not isinstance(function["name"], str) or not _TOOL_NAME.match(function["name"]):
                raise ApiError(400, f"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a "
                               "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                               param=f"tools[{i}].function.name", code="invalid_value")
    for key in ("tool_choice", "parallel_tool_calls"):
        if body.get(key) is not None and not tools:
            raise ApiError(400, f"Invalid value for '{key}': '{key}' is only allowed when 'tools' are specified.",
                           param=key)
    if body.get("parallel_tool_calls") is not None and not isinstance(body["parallel_tool_calls"], bool):
        raise _bad_type("parallel_tool_calls", "a boolean", body["parallel_tool_calls"])
    choice = body.get("tool_choice")
    if choice is None or choice in ("none", "auto", "required"):
        return
    name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or choice.get("type") != "function" or not isinstance(name, str):
        raise ApiError(400, "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named "
                       "function.", param="tool_choice", code="invalid_value")
    if name not in [t["function"]["name"] for t in tools or []]:
        raise ApiError(400, f"Invalid value for 'tool_choice': function '{name}' is not one of the tools.",
                       param="tool_choice", code="invalid_value")


def validate_chat(body: Any, models: list[str]) -> None:
    """Raise :class:`ApiError` unless ``body`` is a request OpenAI itself would accept."""
    if not isinstance(body, dict):
        raise unparseable()
    _check_unknown(body, _CHAT_KEYS)
    _check_model(body, models)
    messages = body.get("messages", _MISSING)
    if messages is _MISSING or messages is None:
        raise _missing("messages")
    if not isinstance(messages, list):
        raise _bad_type("messages", "an array", messages)
    if not messages:
        raise ApiError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                       "empty array instead.", param="messages", code="empty_array")
    for i, message in enumerate(messages):
        _check_message(i, message)
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    _number(body, "n", 1, 128, integer=True)
    _number(body, "max_tokens", 1, None, integer=True)
    _number(body, "max_completion_tokens", 1, None, integer=True)
    _number(body, "seed", None, None, integer=True)
    _number(body, "top_logprobs", 0, 20, integer=True)
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str):
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise _bad_type("stop", "one of a string or array of strings", stop)
        if len(stop) > 4:
            raise ApiError(400, f"Invalid 'stop': array too long. Expected an array with maximum length 4, but got "
                           f"an array with length {len(stop)} instead.", param="stop", code="array_above_max_length")
    for key in ("stream", "logprobs", "store"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            raise _bad_type(key, "a boolean", body[key])
    options = body.get("stream_options")
    if options is not None:
        if body.get("stream") is not True:
            raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                           param="stream_options")
        if not isinstance(options, dict):
            raise _bad_type("stream_options", "an object", options)
        if options.get("include_usage") is not None and not isinstance(options["include_usage"], bool):
            raise _bad_type("stream_options.include_usage", "a boolean", options["include_usage"])
    if body.get("user") is not None and not isinstance(body["user"], str):
        raise _bad_type("user", "a string", body["user"])
    _check_tools(body)
    _check_response_format(body.get("response_format"))


def _check_response_format(fmt: Any) -> None:
    """``text``, ``json_object`` or ``json_schema``; a strict schema must close and require every
    object's properties, as the API demands of structured outputs."""
    if fmt is None:
        return
    if not isinstance(fmt, dict):
        raise _bad_type("response_format", "an object", fmt)
    kind = fmt.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise _bad_value("response_format.type", kind, ("text", "json_object", "json_schema"))
    if kind != "json_schema":
        return
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise _missing("response_format.json_schema.name")
    if spec.get("strict"):
        _check_strict(spec.get("schema"), "response_format.json_schema.schema")


def _check_strict(schema: Any, where: str) -> None:
    if isinstance(schema, list):
        for item in schema:
            _check_strict(item, where)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
        if schema.get("additionalProperties") is not False:
            raise ApiError(400, f"Invalid schema for response_format: In context={where}, 'additionalProperties' is "
                           f"required to be supplied and to be false.", param="response_format",
                           code="invalid_json_schema")
        if sorted(schema.get("required") or []) != sorted(schema["properties"]):
            raise ApiError(400, f"Invalid schema for response_format: In context={where}, 'required' is required "
                           f"to be supplied and to be an array including every key in properties.",
                           param="response_format", code="invalid_json_schema")
    for value in schema.values():
        _check_strict(value, where)


def unparseable() -> ApiError:
    return ApiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                   "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was "
                   "not valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
                   "help center at help.openai.com.)")


def validate_images(body: Any, models: list[str]) -> None:
    """Raise :class:`ApiError` unless ``body`` is a valid ``/images/generations`` request."""
    if not isinstance(body, dict):
        raise unparseable()
    _check_unknown(body, _IMAGE_KEYS)
    prompt = body.get("prompt")
    if prompt is None:
        raise _missing("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise _bad_type("prompt", "a non-empty string", prompt)
    _check_model(body, models, required=False)
    _number(body, "n", 1, 10, integer=True)
    fmt = body.get("response_format")
    if fmt is not None and fmt not in ("url", "b64_json"):
        raise _bad_value("response_format", fmt, ("url", "b64_json"))
    size = body.get("size")
    if size is not None and (not isinstance(size, str) or not re.fullmatch(r"\d+x\d+|auto", size)):
        raise ApiError(400, f"Invalid value for 'size': '{size}'.", param="size", code="invalid_value")
