"""Talk to a deployed endpoint: TGI generate and chat requests, plain or streamed, with precise errors.

This is the light path of the tool: settings -> one `sagemaker-runtime` client -> request -> answer. It
never imports the SageMaker SDK or the deploy side, so `python test.py` reaches the wire quickly. The
`sagemaker` control-plane client is built only when needed: to find an endpoint's inference component,
or to explain why SageMaker refused a request.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from botocore.exceptions import ClientError, ReadTimeoutError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from llm_engineering.aws import from_settings as connect_aws
from llm_engineering.errors import AwsRequestError, ConfigurationError
from llm_engineering.inference.streaming import GenerationStats, TokenStream

if TYPE_CHECKING:
    from llm_engineering.settings import Settings

CONTENT_TYPE = "application/json"
ROLES = ("system", "user", "assistant")
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
COMPONENT_HEADER_REQUIRED = "Inference Component Name header is required"
_UNKNOWN_COMPONENT = re.compile(r"Inference Component (\S+?)\.? not found", re.IGNORECASE)
_ENDPOINT_UNAVAILABLE = re.compile(r"Endpoint .*(not found|not in service|InService)", re.IGNORECASE)


# --- Errors ---------------------------------------------------------------------------------------------


class InvalidParameterError(ConfigurationError):
    """A generation parameter is unknown, of the wrong type or out of range; nothing was sent."""


class EndpointNotFoundError(AwsRequestError):
    """The endpoint does not exist in the region."""


class EndpointNotReadyError(AwsRequestError):
    """The endpoint exists but is not InService (creating, updating, failed, deleting)."""


class ModelInvocationError(AwsRequestError):
    """The model container refused or failed the request (SageMaker `ModelError`)."""


class InferenceComponentError(ConfigurationError):
    """The inference component to invoke is missing, unknown or ambiguous."""


class InferenceTimeoutError(AwsRequestError):
    """The endpoint did not answer within INFERENCE_REQUEST_TIMEOUT."""


class ThrottledError(AwsRequestError):
    """SageMaker kept throttling the request through every retry."""


class UnexpectedResponseError(AwsRequestError):
    """The endpoint answered something that is not a TGI response."""


# --- Generation parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterInfo:
    """What a person needs to choose a value: the allowed values and the usual range."""

    allowed: str
    usual: str = ""
    note: str = ""


PARAMETERS: dict[str, ParameterInfo] = {
    "max_new_tokens": ParameterInfo("an integer >= 1", note="answer length in tokens"),
    "temperature": ParameterInfo("a number > 0", "0.5-1.0", "higher is more random"),
    "top_p": ParameterInfo("a number with 0 < top_p < 1", "0.7-0.95", "nucleus sampling mass"),
    "top_k": ParameterInfo("an integer >= 1, or none", note="none: no top-k filter"),
    "repetition_penalty": ParameterInfo("a number > 0, or none", "1.0-2.0", "none: no penalty"),
    "stop": ParameterInfo("a string or a JSON list of strings, or none", note="text that ends the answer"),
    "do_sample": ParameterInfo("true or false", note="false: greedy decoding"),
    "seed": ParameterInfo("an integer >= 0, or none", note="repeatable sampling"),
    "return_full_text": ParameterInfo("true or false", note="generate mode: answer repeats the prompt"),
}
"""Every parameter in display order (this is also the order of `/params`)."""

CHAT_UNSUPPORTED = ("top_k", "repetition_penalty", "return_full_text")
"""Parameters TGI's chat (messages) API has no field for, so chat requests do not send them."""

_NONE_WORDS = frozenset({"none", "null", "unset"})


class GenerationParameters(BaseModel):
    """Validated generation parameters; out-of-range values never reach the endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_new_tokens: Annotated[int, Field(ge=1)] = 256
    temperature: Annotated[float, Field(gt=0)] | None = 0.7
    top_p: Annotated[float, Field(gt=0, lt=1)] | None = 0.9
    top_k: Annotated[int, Field(ge=1)] | None = None
    repetition_penalty: Annotated[float, Field(gt=0)] | None = None
    stop: tuple[str, ...] = ()
    """A tuple, as the model is frozen; a `default_factory=list` would also make pydantic read the signature
    of `list`, which costs the client's start-up ~12 ms (inspect tokenizes builtin signatures)."""
    do_sample: bool = True
    seed: Annotated[int, Field(ge=0)] | None = None
    return_full_text: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> GenerationParameters:
        """The defaults of MAX_NEW_TOKENS_INFERENCE, TEMPERATURE_INFERENCE, TOP_P_INFERENCE, ..."""
        return cls(
            max_new_tokens=settings.max_new_tokens_inference,
            temperature=settings.temperature_inference,
            top_p=settings.top_p_inference,
            top_k=settings.top_k_inference,
            repetition_penalty=settings.repetition_penalty_inference,
        )

    def updated(self, values: Mapping[str, object]) -> GenerationParameters:
        """A copy with `values` applied (strings are parsed as on the command line), or InvalidParameterError."""
        merged = self.model_dump()
        for name, value in values.items():
            if name not in PARAMETERS:
                raise InvalidParameterError(
                    f"Unknown generation parameter {name!r}: choose one of {', '.join(PARAMETERS)}."
                )
            merged[name] = _parse_value(name, value) if isinstance(value, str) else value
        try:
            return GenerationParameters(**merged)
        except ValidationError as error:
            name = str(error.errors()[0]["loc"][0])
            raise InvalidParameterError(_describe_invalid(name, values.get(name, merged[name]))) from None

    def generate_parameters(self) -> dict[str, Any]:
        """The `parameters` of a TGI generate request.

        With do_sample false, temperature/top_p/top_k are left out: TGI samples whenever any of them is
        set (`sampling = do_sample or has_warpers`), which would defeat greedy decoding.
        `details` is always asked for: it carries the token count and finish reason.
        """
        body: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample}
        if self.do_sample:
            body.update(_present(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k))
        body.update(_present(repetition_penalty=self.repetition_penalty, seed=self.seed))
        if self.stop:
            body["stop"] = list(self.stop)
        body["return_full_text"] = self.return_full_text
        body["details"] = True
        return body

    def chat_fields(self) -> dict[str, Any]:
        """The sampling fields of a TGI chat request (see CHAT_UNSUPPORTED for what is not sent).

        `max_new_tokens` becomes `max_tokens`; with do_sample false, temperature 0 asks TGI's chat API
        for greedy decoding (it samples otherwise) and top_p is left out.
        """
        body: dict[str, Any] = {"max_tokens": self.max_new_tokens}
        if self.do_sample:
            body.update(_present(temperature=self.temperature, top_p=self.top_p))
        else:
            body["temperature"] = 0
        if self.stop:
            body["stop"] = list(self.stop)
        body.update(_present(seed=self.seed))
        return body


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """`NAME=VALUE` strings (from `--param`) as a mapping, refusing anything without `=`."""
    values: dict[str, str] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals or not name.strip():
            raise InvalidParameterError(
                f"--param {assignment!r} is not NAME=VALUE: write e.g. --param temperature=0.5 "
                f"(parameters: {', '.join(PARAMETERS)})."
            )
        values[name.strip()] = value.strip()
    return values


def _parse_value(name: str, raw: str) -> object:
    text = raw.strip()
    if text.lower() in _NONE_WORDS:
        return [] if name == "stop" else None
    if name != "stop":
        return text
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise InvalidParameterError(_describe_invalid(name, raw)) from None
        if not isinstance(value, list):
            raise InvalidParameterError(_describe_invalid(name, raw))
        return value
    return [raw] if raw else []


def _describe_invalid(name: str, value: object) -> str:
    info = PARAMETERS[name]
    usual = f" ({info.usual} is usual)" if info.usual else ""
    shown = value if isinstance(value, str) else json.dumps(value)
    return f"Invalid generation parameter {name}={shown}: it must be {info.allowed}{usual}."


def _present(**values: object) -> dict[str, object]:
    return {name: value for name, value in values.items() if value is not None}


# --- Requests and answers --------------------------------------------------------------------------------


Message = Mapping[str, str]


def generate_request(prompt: str, params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """TGI's generate request: the prompt as is, no chat template."""
    return {"inputs": prompt, "parameters": params.generate_parameters(), "stream": stream}


def chat_request(messages: Sequence[Message], params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """TGI's messages request: the container applies the model's own chat template."""
    checked = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if role not in ROLES or not isinstance(content, str):
            raise ConfigurationError(
                f"Chat message {dict(message)!r} is not {{'role': 'system'|'user'|'assistant', 'content': str}}."
            )
        checked.append({"role": role, "content": content})
    if not checked:
        raise ConfigurationError("A chat request needs at least one message.")
    return {"messages": checked, **params.chat_fields(), "stream": stream}


@dataclass(frozen=True)
class Completion:
    """A whole answer and its figures."""

    text: str
    stats: GenerationStats


# --- The client -------------------------------------------------------------------------------------------


@dataclass
class InferenceClient:
    """One endpoint (and, when it hosts components, one inference component) behind a runtime client.

    `component_name` None means "plain endpoint" unless `discover_component` is set, or SageMaker says a
    component is required: then the endpoint's components are listed once through `control` (a factory
    for the `sagemaker` client) and the only one is used.
    """

    runtime: Any
    endpoint_name: str
    component_name: str | None = None
    discover_component: bool = False
    control: Callable[[], Any] | None = field(default=None, repr=False)
    read_timeout: float | None = None
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)
    _discovered: bool = field(default=False, init=False, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, endpoint_name: str | None = None, component_name: str | None = None
    ) -> InferenceClient:
        """A client for SAGEMAKER_ENDPOINT_INFERENCE (or `endpoint_name`) with the request timeout applied.

        INFERENCE_REQUEST_TIMEOUT bounds a plain request as a whole (the container answers at the end),
        and bounds each silence of a stream: a streamed answer may run longer while tokens keep coming.
        The component comes from `component_name`, else SAGEMAKER_INFERENCE_COMPONENT_NAME, else it is
        discovered when ENDPOINT_TYPE=inference-component (or when SageMaker asks for one).
        """
        aws = connect_aws(settings)
        runtime = aws.client("sagemaker-runtime", read_timeout=settings.inference_request_timeout)
        fail_fast_on_read_timeouts(runtime)
        component = component_name or settings.sagemaker_inference_component_name
        return cls(
            runtime=runtime,
            endpoint_name=endpoint_name or settings.sagemaker_endpoint_inference,
            component_name=component,
            discover_component=component is None and settings.endpoint_type == "inference-component",
            control=lambda: aws.client("sagemaker"),
            read_timeout=settings.inference_request_timeout,
        )

    @property
    def target(self) -> str:
        """The endpoint (and component) as named in messages."""
        if self.component_name:
            return f"inference component '{self.component_name}' on endpoint '{self.endpoint_name}'"
        return f"endpoint '{self.endpoint_name}'"

    # Plain requests.

    def generate_text(self, prompt: str, params: GenerationParameters | None = None) -> str:
        """The model's continuation of `prompt` (TGI generate, no chat template)."""
        return self.generate(prompt, params).text

    def generate(self, prompt: str, params: GenerationParameters | None = None) -> Completion:
        """`generate_text` with the figures (token count from TGI's `details`)."""
        body = generate_request(prompt, params or GenerationParameters(), stream=False)
        started = self.clock()
        answer = self._json(self._invoke(body, stream=False))
        item = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(item, dict) or not isinstance(item.get("generated_text"), str):
            raise self._unexpected(answer)
        details = item.get("details") or {}
        tokens = details.get("generated_tokens")
        stats = GenerationStats(
            tokens if isinstance(tokens, int) else 0, self.clock() - started, None, details.get("finish_reason")
        )
        return Completion(item["generated_text"], stats)

    def chat(self, messages: Sequence[Message], params: GenerationParameters | None = None) -> Completion:
        """The assistant's reply to `messages` (TGI messages API: the model's own chat template)."""
        body = chat_request(messages, params or GenerationParameters(), stream=False)
        started = self.clock()
        answer = self._json(self._invoke(body, stream=False))
        try:
            choice = answer["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise self._unexpected(answer) from None
        usage = answer.get("usage") or {}
        tokens = usage.get("completion_tokens")
        stats = GenerationStats(
            tokens if isinstance(tokens, int) else 0, self.clock() - started, None, choice.get("finish_reason")
        )
        return Completion(text, stats)

    # Streamed requests.

    def stream_text(self, prompt: str, params: GenerationParameters | None = None) -> TokenStream:
        """Like `generate`, delivered token by token."""
        return self._stream(generate_request(prompt, params or GenerationParameters(), stream=True))

    def stream_chat(self, messages: Sequence[Message], params: GenerationParameters | None = None) -> TokenStream:
        """Like `chat`, delivered token by token."""
        return self._stream(chat_request(messages, params or GenerationParameters(), stream=True))

    def _stream(self, body: dict[str, Any]) -> TokenStream:
        started = self.clock()
        response = self._invoke(body, stream=True)
        events = response["Body"]
        return TokenStream(
            events,
            source=self.target,
            started=started,
            read_timeout=self.read_timeout,
            clock=self.clock,
            close=getattr(events, "close", None),
        )

    # Sending, with the component resolved and errors translated.

    def _invoke(self, body: dict[str, Any], *, stream: bool) -> Any:
        """Send `body`; when SageMaker asks for a component nobody looked up yet, look it up and send once more."""
        if self.discover_component and self.component_name is None and not self._discovered:
            self.component_name = self._find_component()
        try:
            return self._send(body, stream=stream)
        except ClientError as error:
            if not (_is_component_required(error) and self.component_name is None and not self._discovered):
                raise self._translate(error) from None
        self.component_name = self._find_component()
        if self.component_name is None:
            raise InferenceComponentError(
                f"Endpoint '{self.endpoint_name}' serves inference components but has none: deploy one with "
                "`make deploy-inference-endpoint` (ENDPOINT_TYPE=inference-component)."
            )
        try:
            return self._send(body, stream=stream)
        except ClientError as error:
            raise self._translate(error) from None

    def _send(self, body: dict[str, Any], *, stream: bool) -> Any:
        request: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": json.dumps(body).encode("utf-8"),
            "ContentType": CONTENT_TYPE,
        }
        if self.component_name:
            request["InferenceComponentName"] = self.component_name
        try:
            if stream:
                return self.runtime.invoke_endpoint_with_response_stream(**request)
            return self.runtime.invoke_endpoint(**request)
        except (ReadTimeoutError, Urllib3ReadTimeoutError):
            raise self._timeout() from None

    def _json(self, response: Mapping[str, Any]) -> Any:
        try:
            raw = response["Body"].read()
        except (ReadTimeoutError, Urllib3ReadTimeoutError):
            raise self._timeout() from None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise self._unexpected(raw[:80]) from None

    def _find_component(self) -> str | None:
        """The endpoint's one inference component (InService ones preferred), None when it has none."""
        self._discovered = True
        components = []
        token: str | None = None
        try:
            control = self._control()
            while True:
                page = control.list_inference_components(
                    EndpointNameEquals=self.endpoint_name, MaxResults=100, **({"NextToken": token} if token else {})
                )
                components.extend(page.get("InferenceComponents", []))
                token = page.get("NextToken")
                if not token:
                    break
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise InferenceComponentError(
                f"Cannot list the inference components of endpoint '{self.endpoint_name}' ({code}): "
                "set SAGEMAKER_INFERENCE_COMPONENT_NAME or pass --component."
            ) from None
        in_service = [c for c in components if c.get("InferenceComponentStatus") == "InService"]
        candidates = in_service or components
        if len(candidates) > 1:
            listed = ", ".join(
                f"{c['InferenceComponentName']} ({c.get('InferenceComponentStatus', '?')})" for c in candidates
            )
            raise InferenceComponentError(
                f"Endpoint '{self.endpoint_name}' hosts several inference components ({listed}): "
                "set SAGEMAKER_INFERENCE_COMPONENT_NAME or pass --component to choose one."
            )
        return candidates[0]["InferenceComponentName"] if candidates else None

    def _control(self) -> Any:
        if self.control is None:
            raise ConfigurationError("This client has no SageMaker control-plane client to look things up with.")
        return self.control()

    def _translate(self, error: ClientError) -> Exception:
        """One precise, actionable exception for what SageMaker answered; other errors pass through."""
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        message = details.get("Message", "") or ""
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "ModelError":
            return ModelInvocationError(self._model_error(error.response, message))
        if code in THROTTLING_CODES or status == 429:
            return ThrottledError(
                f"SageMaker throttled every attempt to invoke {self.target} ({code}): wait a minute and retry, "
                "or request a higher invocation quota in Service Quotas."
            )
        if code == "ValidationError" and COMPONENT_HEADER_REQUIRED in message:
            return InferenceComponentError(
                f"Endpoint '{self.endpoint_name}' serves inference components: set "
                "SAGEMAKER_INFERENCE_COMPONENT_NAME or pass --component with the component to invoke."
            )
        unknown = _UNKNOWN_COMPONENT.search(message) if code == "ValidationError" else None
        if unknown:
            return InferenceComponentError(
                f"Inference component '{unknown.group(1)}' does not exist on endpoint '{self.endpoint_name}': "
                "fix SAGEMAKER_INFERENCE_COMPONENT_NAME or --component (or unset both to pick the endpoint's only one)."
            )
        if code == "ValidationError" and _ENDPOINT_UNAVAILABLE.search(message):
            return self._endpoint_problem(message)
        if code == "ModelNotReadyException":
            return EndpointNotReadyError(
                f"The model behind {self.target} is not ready yet ({_one_line(message)}): wait a minute and retry."
            )
        return error

    def _endpoint_problem(self, message: str) -> Exception:
        """Not found, or not InService? DescribeEndpoint tells (and says why it failed)."""
        not_found = EndpointNotFoundError(
            f"Endpoint '{self.endpoint_name}' does not exist in {self.runtime.meta.region_name}: deploy it with "
            "`make deploy-inference-endpoint`, or set SAGEMAKER_ENDPOINT_INFERENCE (or --endpoint-name) "
            "to an existing endpoint."
        )
        try:
            description = self._control().describe_endpoint(EndpointName=self.endpoint_name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            if code == "ValidationException":  # "Could not find endpoint ..."
                return not_found
            return EndpointNotFoundError(
                f"SageMaker cannot invoke endpoint '{self.endpoint_name}' in {self.runtime.meta.region_name} "
                f"(not found or not InService; DescribeEndpoint was refused: {code}): check it in the SageMaker "
                "console, or deploy it with `make deploy-inference-endpoint`."
            )
        status = description.get("EndpointStatus", "Unknown")
        if status == "InService":
            return AwsRequestError(f"SageMaker refused to invoke {self.target}: {_one_line(message)}.")
        reason = description.get("FailureReason")
        why = f" ({_one_line(reason)})" if reason else ""
        advice = {
            "Creating": "wait until it is InService (`make deploy-inference-endpoint` waits and shows progress)",
            "Updating": "wait until the update finishes and retry",
            "SystemUpdating": "wait until SageMaker's maintenance finishes and retry",
            "RollingBack": "wait until the rollback finishes and retry",
            "Deleting": "it is going away: deploy it again with `make deploy-inference-endpoint`",
            "Failed": "fix the cause, then redeploy with `make deploy-inference-endpoint` "
            "(or remove it with `make delete-inference-endpoint`)",
        }.get(status, "check it in the SageMaker console")
        return EndpointNotReadyError(f"Endpoint '{self.endpoint_name}' is {status}, not InService{why}: {advice}.")

    def _model_error(self, response: Mapping[str, Any], message: str) -> str:
        original = response.get("OriginalMessage") or message
        text = _container_message(original)
        status = response.get("OriginalStatusCode")
        shown = f" (HTTP {status})" if status else ""
        if isinstance(status, int) and 400 <= status < 500:
            return f"The model container on {self.target} rejected the request{shown}: {text}. Fix it and retry."
        logs = response.get("LogStreamArn") or f"CloudWatch log group /aws/sagemaker/Endpoints/{self.endpoint_name}"
        return f"The model container on {self.target} failed{shown}: {text}. See its logs: {logs}."

    def _timeout(self) -> InferenceTimeoutError:
        waited = f"{self.read_timeout:g} s" if self.read_timeout else "the request timeout"
        return InferenceTimeoutError(
            f"{self.target[0].upper()}{self.target[1:]} did not answer within {waited}: ask for fewer tokens "
            "(max_new_tokens) or raise INFERENCE_REQUEST_TIMEOUT."
        )

    def _unexpected(self, answer: object) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            f"{self.target[0].upper()}{self.target[1:]} answered something that is not a TGI response "
            f"({str(answer)[:80]!r}): check that it runs the Hugging Face TGI container."
        )


def fail_fast_on_read_timeouts(runtime: Any) -> None:
    """Make a read timeout end the request instead of being retried.

    botocore's standard retry mode treats read timeouts as transient and would retry up to
    MAX_ATTEMPTS times, turning INFERENCE_REQUEST_TIMEOUT into several times that while the endpoint
    generates the same answer again. Throttling and 5xx answers keep their retries with backoff.
    """
    runtime.meta.events.register_first(
        "needs-retry.sagemaker-runtime", _raise_read_timeout, unique_id="llm-engineering-read-timeout"
    )


def _raise_read_timeout(caught_exception: Exception | None = None, **_: Any) -> None:
    if isinstance(caught_exception, ReadTimeoutError | Urllib3ReadTimeoutError):
        raise caught_exception


def _is_component_required(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationError" and COMPONENT_HEADER_REQUIRED in (details.get("Message") or "")


def _container_message(original: str) -> str:
    """TGI's `{"error": ..., "error_type": ...}` body as its error text; any other body as one line."""
    try:
        body = json.loads(original)
    except (json.JSONDecodeError, TypeError):
        return _one_line(str(original))[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return _one_line(body["error"])
    return _one_line(str(original))[:300]


def _one_line(text: str) -> str:
    return " ".join(text.split()).rstrip(".")
