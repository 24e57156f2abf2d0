"""Talk to a deployed endpoint: generate and chat requests, plain or streamed, with precise errors.

This is the light path of the tool: settings -> one `sagemaker-runtime` client -> request -> answer. It
never imports the SageMaker SDK or the deploy side, so `python test.py` reaches the wire quickly. The
`sagemaker` control-plane client is built only when needed: to find an endpoint's inference component,
to learn which engine serves the endpoint, or to explain why SageMaker refused a request.

Each engine speaks its own API (`protocols.py`). The client speaks ENGINE's (TGI by default) and learns the
endpoint's engine from the tag the tool put on it only when the container refuses a request in another
engine's error format: a right guess costs nothing, a wrong one a DescribeEndpoint and one ListTags, once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from llm_engineering import tags as tool_tags
from llm_engineering.aws import connect, paginate
from llm_engineering.errors import AwsRequestError, ConfigurationError
from llm_engineering.inference import protocols
from llm_engineering.inference.parameters import GenerationParameters, InvalidParameterError
from llm_engineering.inference.protocols import Protocol, checked_messages, error_text, valid_text
from llm_engineering.inference.streaming import GenerationStats, TokenStream, one_line
from llm_engineering.inference.warmup import describe_component, is_no_capacity, measured_startup, scaled_to_zero
from llm_engineering.refusals import error_code, error_message, http_status, is_not_found, shown_code
from llm_engineering.statuses import Status, advice

if TYPE_CHECKING:
    from llm_engineering.settings import Settings

CONTENT_TYPE = "application/json"
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
COMPONENT_HEADER_REQUIRED = "Inference Component Name header is required"
_UNKNOWN_COMPONENT = re.compile(r"Inference Component (\S+?)\.? not found", re.IGNORECASE)
_TOKEN_BUDGET = re.compile(r"`max_new_tokens` must be <= (\d+)")
"""TGI's 422 for a prompt plus max_new_tokens above --max-total-tokens ("`inputs` tokens + `max_new_tokens`
must be <= 4096. Given: ..."); the chat route reports its max_tokens under the same name."""
_ENDPOINT_UNAVAILABLE = re.compile(r"Endpoint .*(not found|not in service|InService)", re.IGNORECASE)


# --- Errors ---------------------------------------------------------------------------------------------


class EndpointNotFoundError(AwsRequestError):
    """The endpoint does not exist in the region."""


class EndpointNotReadyError(AwsRequestError):
    """The endpoint exists but is not InService (creating, updating, failed, deleting)."""


class ModelInvocationError(AwsRequestError):
    """The model container refused or failed the request (SageMaker `ModelError`)."""

    def __init__(self, message: str, status: int | None = None, body: object = None) -> None:
        super().__init__(message)
        self.status = status
        """The container's own HTTP status."""
        self.body = body
        """The container's answer, parsed as JSON when it is JSON."""


class InferenceComponentError(ConfigurationError):
    """The inference component to invoke is missing, unknown or ambiguous."""


class InferenceTimeoutError(AwsRequestError):
    """The endpoint did not answer within INFERENCE_REQUEST_TIMEOUT."""


class ThrottledError(AwsRequestError):
    """SageMaker kept throttling the request through every retry."""


class UnexpectedResponseError(AwsRequestError):
    """The endpoint answered something that is not a TGI response."""


class TokenLimitError(InvalidParameterError):
    """max_new_tokens is more than the deployed container allows (MAX_TOTAL_TOKENS - MAX_INPUT_TOKENS)."""


# --- Requests and answers --------------------------------------------------------------------------------


Message = Mapping[str, str]


def generate_request(prompt: str, params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """TGI's generate request: the prompt as is, no chat template."""
    return {"inputs": valid_text(prompt), "parameters": params.generate_parameters(), "stream": stream}


def chat_request(messages: Sequence[Message], params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """TGI's messages request: the container applies the model's own chat template.

    A streamed chat asks for `stream_options.include_usage`: without it TGI (like OpenAI) sends no token
    counts, and the figures would have to guess them from the chunks.
    """
    body = {"messages": checked_messages(messages), **params.chat_fields(), "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


PROTOCOLS: dict[str, Protocol] = {
    "tgi": protocols.tgi_protocol(generate_request, chat_request),
    "vllm": protocols.VLLM,
    "sglang": protocols.SGLANG,
}
"""Each engine's API (TGI's requests are the two functions above; the others are in `protocols`)."""


def requested_tokens(body: Mapping[str, Any]) -> int | None:
    """The answer length a request asks for (generate: parameters.max_new_tokens, chat: max_tokens)."""
    value = (body.get("parameters") or {}).get("max_new_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class TokenLimits:
    """The launcher limits of the deployed container, from its model's environment (DescribeModel)."""

    max_total_tokens: int
    max_input_tokens: int

    @property
    def max_new_tokens(self) -> int:
        """What every prompt up to MAX_INPUT_TOKENS can be answered with."""
        return self.max_total_tokens - self.max_input_tokens

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> TokenLimits | None:
        total = environment.get("MAX_TOTAL_TOKENS")
        given = environment.get("MAX_INPUT_TOKENS", environment.get("MAX_INPUT_LENGTH"))  # TGI's older name
        if not (total and given and total.isdigit() and given.isdigit()):
            return None  # left to TGI, which sizes them from the model: not known here
        return cls(int(total), int(given))


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
    engine: str = "tgi"
    """The engine whose API the client speaks: ENGINE, until the endpoint's tags say otherwise."""
    engine_confirmed: bool = False
    """True once the endpoint's tags were read (or the engine was given for certain): never read them again."""
    _discovered: bool = field(default=False, init=False, repr=False)
    _limits: TokenLimits | None = field(default=None, init=False, repr=False)
    _limits_read: bool = field(default=False, init=False, repr=False)

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
        aws = connect(settings.aws_region, settings.aws_profile)
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
            engine=settings.engine,
        )

    @property
    def target(self) -> str:
        """The endpoint (and component) as named in messages."""
        if self.component_name:
            return f"inference component '{self.component_name}' on endpoint '{self.endpoint_name}'"
        return f"endpoint '{self.endpoint_name}'"

    @property
    def protocol(self) -> Protocol:
        """The API of the engine the client speaks."""
        return PROTOCOLS[self.engine]

    def notes(self, *, chat: bool, names: Iterable[str] = ()) -> list[str]:
        """Which of the parameters `names` the engine's API for that mode does not send, and how it serves it."""
        return self.protocol.notes(chat, names)

    # Plain requests.

    def generate_text(self, prompt: str, params: GenerationParameters | None = None) -> str:
        """The model's continuation of `prompt` (no chat template)."""
        return self.generate(prompt, params).text

    def generate(self, prompt: str, params: GenerationParameters | None = None) -> Completion:
        """`generate_text` with the figures (token count and finish reason from the engine's own fields)."""
        return self._complete(False, prompt, params or GenerationParameters())

    def chat(self, messages: Sequence[Message], params: GenerationParameters | None = None) -> Completion:
        """The assistant's reply to `messages` (the container applies the model's own chat template)."""
        return self._complete(True, messages, params or GenerationParameters())

    def _complete(self, chat: bool, request: Any, params: GenerationParameters) -> Completion:
        started = self.clock()
        response, protocol = self._exchange(chat, request, params, stream=False)
        answer = self._json(response)
        reply = protocol.read(chat, answer)
        if reply is None:
            raise self._unexpected(answer)
        return Completion(reply.text, GenerationStats(reply.tokens, self.clock() - started, None, reply.finish_reason))

    # Streamed requests.

    def stream_text(self, prompt: str, params: GenerationParameters | None = None) -> TokenStream:
        """Like `generate`, delivered token by token."""
        return self._stream(False, prompt, params or GenerationParameters())

    def stream_chat(self, messages: Sequence[Message], params: GenerationParameters | None = None) -> TokenStream:
        """Like `chat`, delivered token by token."""
        return self._stream(True, messages, params or GenerationParameters())

    def _stream(self, chat: bool, request: Any, params: GenerationParameters) -> TokenStream:
        started = self.clock()
        response, _ = self._exchange(chat, request, params, stream=True)
        events = response["Body"]
        return TokenStream(
            events,
            source=self.target,
            started=started,
            read_timeout=self.read_timeout,
            clock=self.clock,
            close=getattr(events, "close", None),
            headers=(response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {},
        )

    # The engine: ENGINE's API until a container answers in another engine's words.

    def _exchange(
        self, chat: bool, request: Any, params: GenerationParameters, *, stream: bool
    ) -> tuple[Any, Protocol]:
        """Send the request in the engine's shape; when another engine's container refused it, learn the
        endpoint's engine from its tags (once) and send it again in that engine's shape."""
        protocol = self.protocol
        try:
            return self._invoke(protocol.build(chat, request, params, stream=stream), stream=stream), protocol
        except ModelInvocationError as refusal:
            if not self._learn_engine(refusal):
                raise
        protocol = self.protocol
        return self._invoke(protocol.build(chat, request, params, stream=stream), stream=stream), protocol

    def _learn_engine(self, refusal: ModelInvocationError) -> bool:
        """True when the endpoint's tags name another engine than the one spoken (which becomes the one)."""
        if self.engine_confirmed or self.control is None or not (refusal.status and 400 <= refusal.status < 500):
            return False
        if self.protocol.own_error(refusal.body) is not None:
            return False  # the engine spoken to refused the request itself: a genuine refusal
        self.engine_confirmed = True
        tagged = self._tagged_engine()
        if tagged is None or tagged == self.engine:
            return False
        self.engine = tagged
        return True

    def _tagged_engine(self) -> str | None:
        """The engine tag of the component (or the endpoint) invoked: one Describe call and one ListTags."""
        try:
            control = self._control()
            if self.component_name:
                arn = control.describe_inference_component(InferenceComponentName=self.component_name)
                arn = arn["InferenceComponentArn"]
            else:
                arn = control.describe_endpoint(EndpointName=self.endpoint_name)["EndpointArn"]
            engine = tool_tags.read(control, ResourceArn=arn).get(tool_tags.ENGINE)
        except (ClientError, KeyError):
            return None
        return engine if engine in PROTOCOLS else None

    # Sending, with the component resolved and errors translated.

    def _invoke(self, body: dict[str, Any], *, stream: bool) -> Any:
        """Send `body`; when SageMaker asks for a component nobody looked up yet, look it up and send once more."""
        if self.discover_component and self.component_name is None and not self._discovered:
            self.component_name = self._find_component()
        self._check_token_limit(body)
        try:
            return self._send(body, stream=stream)
        except ClientError as error:
            if not (_is_component_required(error) and self.component_name is None and not self._discovered):
                raise self._translate(error, body) from None
        self.component_name = self._find_component()
        if self.component_name is None:
            raise InferenceComponentError(
                f"Endpoint '{self.endpoint_name}' serves inference components but has none: deploy one with "
                "`make deploy-inference-endpoint` (ENDPOINT_TYPE=inference-component)."
            )
        try:
            return self._send(body, stream=stream)
        except ClientError as error:
            raise self._translate(error, body) from None

    def _send(self, body: dict[str, Any], *, stream: bool) -> Any:
        request: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": json.dumps(body, allow_nan=False).encode("utf-8"),
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
        try:
            listed = paginate(
                self._control(),
                "list_inference_components",
                "InferenceComponents",
                EndpointNameEquals=self.endpoint_name,
                PaginationConfig={"PageSize": 100},
            )
            components = list(listed)
        except ClientError as error:
            raise InferenceComponentError(
                f"Cannot list the inference components of endpoint '{self.endpoint_name}' ({shown_code(error)}): "
                "set SAGEMAKER_INFERENCE_COMPONENT_NAME or pass --component."
            ) from None
        in_service = [c for c in components if c.get("InferenceComponentStatus") == Status.IN_SERVICE]
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

    def _translate(self, error: ClientError, body: Mapping[str, Any] | None = None) -> Exception:
        """One precise, actionable exception for what SageMaker answered; other errors pass through."""
        code, message, status = error_code(error), error_message(error), http_status(error)
        if code == "ModelError":
            budget = _TOKEN_BUDGET.search(_container_message(error.response.get("OriginalMessage") or message))
            if budget and body is not None:
                return self._token_limit_error(body, int(budget.group(1)))
            original = error.response.get("OriginalMessage")
            status = error.response.get("OriginalStatusCode")
            return ModelInvocationError(
                self._model_error(error.response, message), status if isinstance(status, int) else None, _json(original)
            )
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
        if is_no_capacity(code, message):  # scaled to zero: the refusal wakes it (`inference.warmup`)
            name = self.component_name or ""
            described = describe_component(self.control, name)
            return scaled_to_zero(name, described, measured_startup(self.control, described))
        if code == "ValidationError" and _ENDPOINT_UNAVAILABLE.search(message):
            return self._endpoint_problem(message)
        if code == "ModelNotReadyException":
            return EndpointNotReadyError(
                f"The model behind {self.target} is not ready yet ({one_line(message)}): wait a minute and retry."
            )
        return error

    # max_new_tokens against the deployed limits: looked up once, on the first refusal (not on the fast path).

    def _check_token_limit(self, body: Mapping[str, Any]) -> None:
        """Refuse before sending what the deployed limits (once known) cannot answer."""
        asked = requested_tokens(body)
        if self._limits is not None and asked is not None and asked > self._limits.max_new_tokens:
            raise self._token_limit_error(body, self._limits.max_total_tokens)

    def _token_limit_error(self, body: Mapping[str, Any], total: int) -> TokenLimitError:
        if self._limits is None and not self._limits_read:
            self._limits_read = True
            self._limits = self._deployed_limits()
        asked = requested_tokens(body)
        limits = self._limits
        if limits is not None:
            allowed = (
                f"it was deployed with MAX_TOTAL_TOKENS={limits.max_total_tokens} (prompt plus answer) and "
                f"MAX_INPUT_TOKENS={limits.max_input_tokens}, so ask for at most {limits.max_new_tokens}"
            )
        else:
            allowed = f"its container allows {total} tokens for prompt plus answer, so ask for fewer"
        return TokenLimitError(
            f"max_new_tokens={asked} is more than {self.target} allows: {allowed}. Lower MAX_NEW_TOKENS_INFERENCE "
            "(or pass --param max_new_tokens=N; in the chat: /set max_new_tokens N)."
        )

    def _deployed_limits(self) -> TokenLimits | None:
        """MAX_TOTAL_TOKENS and MAX_INPUT_TOKENS from the environment of the model the endpoint (or component) runs."""
        try:
            control = self._control()
            if self.component_name:
                described = control.describe_inference_component(InferenceComponentName=self.component_name)
                model_name = described.get("Specification", {}).get("ModelName")
            else:
                config_name = control.describe_endpoint(EndpointName=self.endpoint_name)["EndpointConfigName"]
                variants = control.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
                model_name = next((variant["ModelName"] for variant in variants if "ModelName" in variant), None)
            if not model_name:
                return None
            container = control.describe_model(ModelName=model_name).get("PrimaryContainer") or {}
        except (ClientError, ConfigurationError, KeyError):  # no permission, no control client: limits unknown
            return None
        return TokenLimits.from_environment(container.get("Environment") or {})

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
            if is_not_found(error):  # "Could not find endpoint ..."
                return not_found
            return EndpointNotFoundError(
                f"SageMaker cannot invoke endpoint '{self.endpoint_name}' in {self.runtime.meta.region_name} "
                f"(not found or not InService; DescribeEndpoint was refused: {shown_code(error)}): "
                "check it in the SageMaker console, or deploy it with `make deploy-inference-endpoint`."
            )
        status = Status(description.get("EndpointStatus"))
        if status == Status.IN_SERVICE:
            return AwsRequestError(f"SageMaker refused to invoke {self.target}: {one_line(message)}.")
        reason = description.get("FailureReason")
        why = f" ({one_line(reason)})" if reason else ""
        return EndpointNotReadyError(
            f"Endpoint '{self.endpoint_name}' is {status}, not InService{why}: {advice(status).use}."
        )

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
        label = self.protocol.label
        return UnexpectedResponseError(
            f"{self.target[0].upper()}{self.target[1:]} answered something that is not a {label} response "
            f"({str(answer)[:80]!r}): check that it runs the Hugging Face {label} container."
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
    return error_code(error) == "ValidationError" and COMPONENT_HEADER_REQUIRED in error_message(error)


def _container_message(original: str) -> str:
    """An engine's error body (TGI's `{"error": ...}`, vLLM's, SGLang's) as its error text; any other as one line."""
    try:
        body = json.loads(original)
    except (json.JSONDecodeError, TypeError):
        return one_line(str(original))[:300]
    text = error_text(body)
    if text is not None:
        return one_line(text)
    return one_line(str(original))[:300]


def _json(original: object) -> object:
    """`original` parsed as JSON, else as it is."""
    try:
        return json.loads(original) if isinstance(original, str | bytes) else original
    except json.JSONDecodeError:
        return original
