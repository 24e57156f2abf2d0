"""The two places settings come from, checked before pydantic-settings reads them.

pydantic-settings reads `.env` through python-dotenv, which only logs a warning for a line it cannot parse
and drops it: a deploy would then run on defaults. And a name that is not a setting (`GPU_INSTANCE_TYPES`,
`HF_MODLE_ID`) is ignored on purpose, since `.env` and the environment hold other tools' variables too. So
`.env` is parsed here first with python-dotenv's own parser (a bad line stops everything, naming the file and
the line), and names that are close to a setting's name are reported with the setting they probably meant.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from dotenv.parser import parse_stream

from llm_engineering.errors import ConfigurationError, SettingsWarning
from llm_engineering.redaction import looks_like_secret

ENV_CUTOFF = 0.85
"""How close (difflib's ratio) an environment variable's name must be to a setting's to be reported: the
environment holds many variables of other tools, so only near misses count."""
FILE_CUTOFF = 0.8
"""The same for `.env`, which mostly holds this tool's settings."""

FOREIGN_NAMES = frozenset(
    {
        # AWS's own variables that resemble the tool's AWS_* settings (botocore reads them).
        "AWS_DEFAULT_REGION",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        # Hugging Face's own variables.
        "HF_TOKEN",
        "HF_HOME",
        "HF_ENDPOINT",
        "HUGGING_FACE_HUB_TOKEN",
    }
)
"""Variables of AWS and Hugging Face tools that are never reported, however close they are to a setting."""


def env_file_names(path: Path) -> list[tuple[str, int]]:
    """The names `.env` assigns, with their line numbers; a line python-dotenv cannot parse stops here.

    The line itself is never shown: it may hold a token.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text: save it as UTF-8.") from None
    except OSError as error:
        raise ConfigurationError(f"Cannot read {path} ({error.strerror}): fix its permissions.") from None
    names: list[tuple[str, int]] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigurationError(
                f"{path}, line {binding.original.line}: {_describe_line(binding.original.string)} cannot be read "
                "(python-dotenv expects NAME=value, with quotes closed on the same line): fix or remove that line."
            )
        if binding.key is not None:
            names.append((binding.key, binding.original.line))
    return names


def _describe_line(line: str) -> str:
    """`the line starting with NAME` when it starts with a plain name (never a value), else `the line`."""
    first = line.strip().removeprefix("export ").split("=", 1)[0].split()[:1]
    word = first[0] if first else ""
    if word.replace("_", "a").isalnum() and word.isascii() and not looks_like_secret(word):
        return f"the line starting with {word}"
    return "the line"


def _stems(known: Collection[str]) -> frozenset[str]:
    """First and last words of the settings' names (AWS, HF, SAGEMAKER, ..., INFERENCE, TIMEOUT)."""
    words = set()
    for name in known:
        parts = name.split("_")
        words.update({parts[0], parts[-1]})
    return frozenset(words)


def _closest(name: str, known: Collection[str], cutoff: float) -> str | None:
    import difflib  # deferred: only a name that looks like a setting pays for it

    found = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return found[0] if found else None


def report_unknown_names(
    known: Collection[str], file_names: Iterable[tuple[str, int]], path: Path | None, environ: Mapping[str, str]
) -> None:
    """Warn (`SettingsWarning`) about names in `.env` and the environment that are close to a setting's name."""
    known = {name.upper() for name in known}
    for name, line in file_names:
        upper = name.upper()
        if upper in known or upper in FOREIGN_NAMES:
            continue
        meant = _closest(upper, known, FILE_CUTOFF)
        if meant:
            _warn(f"{path}, line {line}: {name} is not a setting of this tool and is ignored; did you mean {meant}?")
    stems = _stems(known)
    for name in environ:
        upper = name.upper()
        if upper in known or upper in FOREIGN_NAMES or not set(upper.split("_")) & stems:
            continue
        meant = _closest(upper, known, ENV_CUTOFF)
        if meant:
            _warn(f"environment variable {name} is not a setting of this tool and is ignored; did you mean {meant}?")


def _warn(message: str) -> None:
    warnings.warn(SettingsWarning(message), stacklevel=3)


def check_sources(known: Collection[str], env_file: str) -> Path | None:
    """Check `.env` (the file `env_file` names, if it exists) and the environment; the file to read, or None."""
    path = Path(env_file) if os.path.isfile(env_file) else None
    names = env_file_names(path) if path is not None else []
    report_unknown_names(known, names, path, os.environ)
    return path


# --- Environments: ENV=prod reads .env.prod after .env ----------------------------------------------------
ENVIRONMENT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def environment_name() -> str | None:
    """The environment in use: LLM_ENGINEERING_ENV, else ENV, else None (`.env` alone).

    Both must be a plain name when set: anything else (a path, `../x`, `prod;x`, `Prod`) would otherwise be
    dropped silently and the default settings used instead of the ones meant. ENV is also POSIX sh's name for a
    startup file: a shell that sets it is told to unset it (or to name the environment in LLM_ENGINEERING_ENV,
    which wins over ENV).
    """
    for variable in ("LLM_ENGINEERING_ENV", "ENV"):
        value = os.environ.get(variable)
        if not value:
            continue
        if not ENVIRONMENT_PATTERN.match(value):
            shell = " or unset it (a shell's startup file is no environment)" if variable == "ENV" else ""
            raise ConfigurationError(
                f"{variable}={value!r} is invalid: an environment is a short lower-case name such as dev or prod "
                f"(it selects .env.<name>): fix it in the environment{shell}. Nothing was read or created."
            )
        return value
    return None


def environment_file(known: Collection[str], env_file: str, name: str | None) -> Path | None:
    """`<env_file>.<name>` (`.env.prod`), read after `env_file`, checked like it (the environment was checked
    with `env_file`); it must exist once an environment is named."""
    if name is None:
        return None
    path = Path(env_file).with_name(f"{Path(env_file).name}.{name}")
    if not path.is_file():
        raise ConfigurationError(
            f"ENV={name} reads {path} after {env_file}, but there is no {path}: create it with that environment's "
            f"settings (for example AWS_PROFILE={name} and AWS_REGION), or unset ENV."
        )
    report_unknown_names(known, env_file_names(path), path, {})
    return path
