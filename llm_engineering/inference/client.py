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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from llm_engineering.aws import from_settings as connect_aws
from llm_engineering.aws import is_not_found, paginate
from llm_engineering.errors import AwsRequestError, ConfigurationError
from llm_engineering.inference.parameters import GenerationParameters, InvalidParameterError
from llm_engineering.inference.streaming import GenerationStats, TokenStream, one_line
from llm_engineering.statuses import Status

if TYPE_CHECKING:
    from llm_engineering.settings import Settings

CONTENT_TYPE = "application/json"
ROLES = ("system", "user", "assistant")
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
COMPONENT_HEADER_REQUIRED = "Inference Component Name header is required"
_UNKNOWN_COMPONENT = re.compile(r"Inference Component (\S+?)\.? not found", re.IGNORECASE)
_TOKEN_BUDGET = re.compile(r"`max_new_tokens` must be <= (\d+)")
"""TGI's 422 for a prompt plus max_new_tokens above --max-total-tokens ("`inputs` tokens + `max_new_tokens`
must be <= 4096. Given: ..."); the chat route reports its max_tokens under the same name."""
_OTHER_SURROGATES = re.compile("[\ud800-\udc7f\udd00-\udfff]")
_ENDPOINT_UNAVAILABLE = re.compile(r"Endpoint .*(not found|not in service|InService)", re.IGNORECASE)


# --- Errors ---------------------------------------------------------------------------------------------


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


class TokenLimitError(InvalidParameterError):
    """max_new_tokens is more than the deployed container allows (MAX_TOTAL_TOKENS - MAX_INPUT_TOKENS)."""


# --- Requests and answers --------------------------------------------------------------------------------


Message = Mapping[str, str]


def valid_text(text: str) -> str:
    """`text` as Unicode that UTF-8 can carry: bytes that were not UTF-8 (Python keeps those from argv and stdin
    as lone surrogates) become U+FFFD instead of reaching the endpoint as `\\udcff` escapes."""
    if not text.isascii():
        text = _OTHER_SURROGATES.sub("\ufffd", text)
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def generate_request(prompt: str, params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """TGI's generate request: the prompt as is, no chat template."""
    return {"inputs": valid_text(prompt), "parameters": params.generate_parameters(), "stream": stream}


def chat_request(messages: Sequence[Message], params: GenerationParameters, *, stream: bool) -> dict[str, Any]:
    """TGI's messages request: the container applies the model's own chat template."""
    checked = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if role not in ROLES or not isinstance(content, str):
            raise ConfigurationError(
                f"Chat message {dict(message)!r} is not {{'role': 'system'|'user'|'assistant', 'content': str}}."
            )
        checked.append({"role": role, "content": valid_text(content)})
    if not checked:
        raise ConfigurationError("A chat request needs at least one message.")
    return {"messages": checked, **params.chat_fields(), "stream": stream}


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
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise InferenceComponentError(
                f"Cannot list the inference components of endpoint '{self.endpoint_name}' ({code}): "
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
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        message = details.get("Message", "") or ""
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "ModelError":
            budget = _TOKEN_BUDGET.search(_container_message(error.response.get("OriginalMessage") or message))
            if budget and body is not None:
                return self._token_limit_error(body, int(budget.group(1)))
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
            code = error.response.get("Error", {}).get("Code", "Unknown")
            if is_not_found(error):  # "Could not find endpoint ..."
                return not_found
            return EndpointNotFoundError(
                f"SageMaker cannot invoke endpoint '{self.endpoint_name}' in {self.runtime.meta.region_name} "
                f"(not found or not InService; DescribeEndpoint was refused: {code}): check it in the SageMaker "
                "console, or deploy it with `make deploy-inference-endpoint`."
            )
        status = Status(description.get("EndpointStatus"))
        if status == Status.IN_SERVICE:
            return AwsRequestError(f"SageMaker refused to invoke {self.target}: {one_line(message)}.")
        reason = description.get("FailureReason")
        why = f" ({one_line(reason)})" if reason else ""
        advice = {
            Status.CREATING: "wait until it is InService (`make deploy-inference-endpoint` waits and shows progress)",
            Status.UPDATING: "wait until the update finishes and retry",
            Status.SYSTEM_UPDATING: "wait until SageMaker's maintenance finishes and retry",
            Status.ROLLING_BACK: "wait until the rollback finishes and retry",
            Status.DELETING: "it is going away: deploy it again with `make deploy-inference-endpoint`",
            Status.FAILED: "fix the cause, then redeploy with `make deploy-inference-endpoint` "
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
        return one_line(str(original))[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return one_line(body["error"])
    return one_line(str(original))[:300]
