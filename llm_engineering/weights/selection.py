"""Which files of a Hub repository the serving container needs, and why every other one is left out.

TGI reads, from the model directory, the safetensors weights (and their index), config.json,
generation_config.json and the tokenizer and chat-template files; custom modelling code only with
HF_MODEL_TRUST_REMOTE_CODE. Checkpoints in other formats duplicate the safetensors ones, and subfolders
(`original/`, `onnx/`, ...) hold other runtimes' copies: staging them would only cost storage and time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llm_engineering.errors import ConfigurationError
from llm_engineering.hub.files import HubEntry

NEEDED = frozenset(
    {
        "config.json",
        "generation_config.json",
        "model.safetensors.index.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.json",
        "vocab.txt",
        "merges.txt",
        "tokenizer.model",
        "spiece.model",
        "chat_template.jinja",
        "chat_template.json",
    }
)
NEEDED_SUFFIXES = (".safetensors", ".tiktoken")
DUPLICATE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf", ".onnx", ".tflite", ".ot")
DUPLICATE_NAMES = frozenset({"pytorch_model.bin.index.json", "tf_model.h5.index.json", "flax_model.msgpack.index.json"})
INDEX = "model.safetensors.index.json"


class NoSafetensorsError(ConfigurationError):
    """The repository has no safetensors weights at its top level: nothing the container could load from S3."""


@dataclass(frozen=True)
class Selection:
    """The files to stage, and the ones left out with the reason, for the user to read."""

    files: tuple[HubEntry, ...]
    skipped: tuple[tuple[str, str], ...]
    """(file name, why it is left out)."""

    def summary(self) -> list[str]:
        """One line per reason: `why: a, b, c` (a subfolder shown once, with its file count)."""
        grouped: dict[str, dict[str, int]] = {}
        for name, why in self.skipped:
            shown = name.split("/")[0] + "/" if "/" in name else name
            counts = grouped.setdefault(why, {})
            counts[shown] = counts.get(shown, 0) + 1
        return [
            f"{why}: "
            + ", ".join(
                f"{name} ({count} file{'s' if count > 1 else ''})" if name.endswith("/") else name
                for name, count in names.items()
            )
            for why, names in grouped.items()
        ]


def _why_skipped(name: str, trust_remote_code: bool) -> str | None:
    """None when the container needs `name`, else the reason it is left out."""
    if "/" in name:
        return "in a subfolder the container does not read"
    if name in NEEDED or name.endswith(NEEDED_SUFFIXES):
        return None
    if name in DUPLICATE_NAMES or name.endswith(DUPLICATE_SUFFIXES):
        return "the same weights in another format (the safetensors ones are staged)"
    if name.endswith(".py"):
        return None if trust_remote_code else "custom code, used only with HF_MODEL_TRUST_REMOTE_CODE=true"
    return "not needed to serve the model"


def select(entries: Iterable[HubEntry], model_id: str, trust_remote_code: bool = False) -> Selection:
    """The files to stage; `NoSafetensorsError` when there are no safetensors weights to stage."""
    files: list[HubEntry] = []
    skipped: list[tuple[str, str]] = []
    for entry in sorted(entries, key=lambda item: item.name):
        why = _why_skipped(entry.name, trust_remote_code)
        if why is None:
            files.append(entry)
        else:
            skipped.append((entry.name, why))
    if not any(entry.name.endswith(".safetensors") for entry in files):
        others = sorted({name.rsplit(".", 1)[-1] for name, why in skipped if "another format" in why})
        found = f" (it has .{', .'.join(others)} weights)" if others else ""
        raise NoSafetensorsError(
            f"HF_MODEL_ID={model_id} has no .safetensors weights at the top of its repository{found}: a staged "
            "model is loaded as safetensors only; choose a model that publishes them (most do), or convert it "
            "and push the safetensors to a repository of your own."
        )
    return Selection(tuple(files), tuple(skipped))


def missing_shards(index_json: bytes, names: Sequence[str]) -> list[str]:
    """Shards that `model.safetensors.index.json` names but the repository lacks."""
    try:
        weight_map = json.loads(index_json.decode("utf-8")).get("weight_map", {})
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return []
    return sorted(set(weight_map.values()) - set(names))
