"""What a benchmark run is: the concurrency sweep, how long each level runs, the prompts, where results go.

Everything is checked here, before a single request is sent: a sweep that cannot end, a prompts file that is
not JSONL, an output path that cannot be written are one line and exit 2, with nothing sent.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from llm_engineering.catalogue.engines import EngineName
from llm_engineering.errors import ConfigurationError
from llm_engineering.inference.parameters import GenerationParameters

if TYPE_CHECKING:
    from llm_engineering.settings import Settings

DEFAULT_LEVELS = (1, 2, 4, 8, 16)
MAX_CONCURRENCY = 256
DEFAULT_REQUESTS = 32
MAX_REQUESTS = 10_000
"""Per level, also the bound of a `--duration` run."""
MAX_DURATION_SECONDS = 3600.0
MAX_INPUT_TOKENS = 32_768
DEFAULT_INPUT_TOKENS = 256
DEFAULT_MAX_NEW_TOKENS = 128
PROMPT_SEED = 18
"""Synthetic prompts come from this seed, so two runs send the same prompts and compare."""
PROMPT_COUNT = 64
RESULTS_DIRECTORY = Path("benchmarks/results")

# Common English words that the Llama, Qwen and Mistral tokenizers each encode as one token with their leading
# space, so a synthetic prompt of N words is about N tokens (the engine's own count is in the results).
_WORD_TEXT = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have "
    "an they you were her she there one all we their can has more will would if been when who so no time "
    "out up into than them only other new some could these two may first then do any like my now over "
    "such our man me even most made after also did many off before must well back through years much "
    "where your way down should because each just those people how too little state good very make world "
    "still own see men work long here get both between life being under never day same another know while "
    "last might us great old year since against go came right used take three"
)
_WORDS = _WORD_TEXT.split()


class BenchmarkInputError(ConfigurationError):
    """An argument of `make benchmark` or `make benchmark-compare` that cannot work; nothing was sent."""


@dataclass(frozen=True)
class TargetSpec:
    """What the settings say about the endpoint a benchmark measures: its name and component, how long a silence
    may last, the engine to speak first, the generation parameters, and the Hub token that finds the model's
    size. Read once at the edge, so that the run itself never sees the settings."""

    endpoint_name: str
    component_name: str | None
    read_timeout: float
    engine: EngineName
    params: GenerationParameters
    hub_token: SecretStr | None

    @classmethod
    def from_settings(
        cls, settings: Settings, endpoint_name: str | None = None, component_name: str | None = None
    ) -> TargetSpec:
        """The endpoint (and component) given, else the settings' (an inference-component endpoint's default
        component when ENDPOINT_TYPE=inference-component names none)."""
        component = component_name or settings.sagemaker_inference_component_name
        if component is None and settings.endpoint_type == "inference-component":
            component = settings.inference_component_name
        return cls(
            endpoint_name=endpoint_name or settings.sagemaker_endpoint_inference,
            component_name=component,
            read_timeout=settings.inference_request_timeout,
            engine=settings.engine,
            params=GenerationParameters.from_settings(settings),
            hub_token=settings.huggingface_access_token,
        )


@dataclass(frozen=True)
class BenchmarkSpec:
    """One run: the sweep, its bounds, the prompts and the output files."""

    levels: tuple[int, ...]
    requests: int
    """Requests per level (with `duration`, the most a level sends)."""
    duration: float | None
    """Seconds per level; None: exactly `requests` requests."""
    prompts: tuple[str, ...]
    prompt_source: str
    max_new_tokens: int
    out: Path
    """The results without suffix: `<out>.json` and `<out>.png`."""

    @property
    def json_path(self) -> Path:
        return self.out.with_name(self.out.name + ".json")

    @property
    def chart_path(self) -> Path:
        return self.out.with_name(self.out.name + ".png")


def parse_levels(text: str) -> tuple[int, ...]:
    """`1,2,4,8` -> (1, 2, 4, 8): whole numbers from 1 to MAX_CONCURRENCY, each once, sorted."""
    try:
        levels = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise BenchmarkInputError(
            f"--concurrency {text!r} is not a comma-separated list of whole numbers: pass e.g. 1,2,4,8,16."
        ) from None
    if not levels:
        raise BenchmarkInputError("--concurrency is empty: pass e.g. 1,2,4,8,16.")
    wrong = [level for level in levels if not 1 <= level <= MAX_CONCURRENCY]
    if wrong:
        raise BenchmarkInputError(
            f"--concurrency {wrong[0]} is out of range: each level must be from 1 to {MAX_CONCURRENCY} streams."
        )
    return tuple(sorted(set(levels)))


def synthetic_prompts(input_tokens: int, count: int = PROMPT_COUNT, seed: int = PROMPT_SEED) -> tuple[str, ...]:
    """`count` prompts of about `input_tokens` tokens each, the same for the same seed."""
    draw = random.Random(seed)
    return tuple(" ".join(draw.choice(_WORDS) for _ in range(input_tokens)) for _ in range(count))


def read_prompts(path: Path) -> tuple[str, ...]:
    """The prompts of a JSONL file: one per line, a JSON string or an object with `prompt` (or `text`)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        message = f"--prompts {path} cannot be read ({reason}): pass a JSONL file of prompts."
        raise BenchmarkInputError(message) from None
    prompts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise BenchmarkInputError(
                f"--prompts {path} is not JSONL: line {number} is not JSON ({error.msg}); write one JSON string "
                'or {"prompt": "..."} per line.'
            ) from None
        prompt = item.get("prompt", item.get("text")) if isinstance(item, dict) else item
        if not isinstance(prompt, str) or not prompt.strip():
            raise BenchmarkInputError(
                f'--prompts {path} line {number} has no prompt: write a JSON string or {{"prompt": "..."}} per line.'
            )
        prompts.append(prompt)
    if not prompts:
        raise BenchmarkInputError(f"--prompts {path} holds no prompt: write one JSON string per line.")
    return tuple(prompts)


def default_out(endpoint_name: str, now: datetime | None = None) -> Path:
    """`benchmarks/results/<endpoint>-<UTC timestamp>`"""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS_DIRECTORY / f"{endpoint_name}-{stamp}"


def writable_out(out: Path) -> Path:
    """`out` (suffix .json or .png dropped) once its directory exists and takes a file; else the reason."""
    if out.suffix in {".json", ".png"}:
        out = out.with_suffix("")
    if out.name in {"", ".", ".."}:
        raise BenchmarkInputError(f"--out {out} names no file: pass a path such as benchmarks/results/run1.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".write-check-"):
            pass
    except OSError as error:
        raise BenchmarkInputError(
            f"--out {out} cannot be written ({error.strerror or error}): pass a directory you can write to."
        ) from None
    return out


def build_spec(
    *,
    concurrency: str,
    requests: int | None,
    duration: float | None,
    input_tokens: int | None,
    prompts_file: Path | None,
    max_new_tokens: int,
    out: Path,
) -> BenchmarkSpec:
    """The checked run, or BenchmarkInputError naming the argument."""
    levels = parse_levels(concurrency)
    if duration is not None and not 0 < duration <= MAX_DURATION_SECONDS:
        raise BenchmarkInputError(
            f"--duration {duration:g} must be more than 0 and at most {MAX_DURATION_SECONDS:g} seconds per level."
        )
    count = requests if requests is not None else (MAX_REQUESTS if duration is not None else DEFAULT_REQUESTS)
    if not 1 <= count <= MAX_REQUESTS:
        raise BenchmarkInputError(f"--requests {count} must be from 1 to {MAX_REQUESTS} per level.")
    if count < levels[-1]:
        raise BenchmarkInputError(
            f"--requests {count} is below the highest concurrency {levels[-1]}: a level needs at least one "
            "request per stream; raise --requests or lower --concurrency."
        )
    if not 1 <= max_new_tokens <= MAX_INPUT_TOKENS:
        raise BenchmarkInputError(f"--max-new-tokens {max_new_tokens} must be from 1 to {MAX_INPUT_TOKENS}.")
    if prompts_file is not None and input_tokens is not None:
        raise BenchmarkInputError("--prompts and --input-tokens exclude each other: pass one of them.")
    if prompts_file is not None:
        prompts, source = read_prompts(prompts_file), f"file {prompts_file}"
    else:
        tokens = input_tokens if input_tokens is not None else DEFAULT_INPUT_TOKENS
        if not 1 <= tokens <= MAX_INPUT_TOKENS:
            raise BenchmarkInputError(f"--input-tokens {tokens} must be from 1 to {MAX_INPUT_TOKENS}.")
        prompts, source = synthetic_prompts(tokens), f"synthetic, {tokens} words (seed {PROMPT_SEED})"
    return BenchmarkSpec(levels, count, duration, prompts, source, max_new_tokens, writable_out(out))
