"""Generation parameters: what can be asked of TGI, validated before anything is sent.

`GenerationParameters` is the one place that knows each parameter's range and how it maps onto TGI's
generate request and its chat (messages) request; `PARAMETERS` describes them for people (`/params`,
`--help`). Out-of-range values never reach the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llm_engineering.errors import ConfigurationError

if TYPE_CHECKING:
    from llm_engineering.settings import Settings


class InvalidParameterError(ConfigurationError):
    """A generation parameter is unknown, of the wrong type or out of range; nothing was sent."""


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

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # inf/nan are not JSON

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
