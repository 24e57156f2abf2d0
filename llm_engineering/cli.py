"""What every script shares: one-line errors, exit codes, and output helpers.

Library code raises; only scripts print. `run()` is the single place where exceptions become a line on
stderr and an exit code, so no user ever sees a traceback for a mistake they can fix.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from llm_engineering.errors import ConfigurationError, SettingsWarning, UserFacingError
from llm_engineering.redaction import mask_secrets
from llm_engineering.refusals import error_message, is_access_denied, shown_code
from llm_engineering.terminal import clean

INTERRUPTED = 130

MAKE_ARGUMENTS = "LLM_ENGINEERING_ARGS"
"""The Make targets hand a user's ARGS (or a workflow step's DEPLOY_ARGS, ...) over in this variable, as one
string: the script splits it into words here, with the shell's quoting rules but without a shell, so nothing
in it is ever run (see the Makefile)."""


def script_arguments(argv: Sequence[str] | None = None) -> list[str]:
    """`argv`, or the command line followed by the words of `LLM_ENGINEERING_ARGS` (removed from the
    environment, so no child process sees it again)."""
    if argv is not None:
        return list(argv)
    extra = os.environ.pop(MAKE_ARGUMENTS, "")
    try:
        words = shlex.split(extra)
    except ValueError as error:
        raise ConfigurationError(
            f"ARGS={extra!r} cannot be split into arguments ({error}): close the quote or remove it."
        ) from None
    return sys.argv[1:] + words


class ArgumentParser(argparse.ArgumentParser):
    """Every script's parser: a usage mistake is one line and exit code 2, like any other configuration
    error, instead of argparse's two-line usage dump. Without explicit arguments it reads `script_arguments()`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A value that starts with a dash and a digit (`--older-than -7d`, `--ttl -2h`) is a value, not an
        # unknown option: it then meets the value's own check and its one-line message, instead of argparse's
        # "expected one argument" (Python 3.11's own pattern takes only plain negative numbers).
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message: str) -> NoReturn:
        raise ConfigurationError(f"{self.prog}: {message} (see --help).")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        return super().parse_known_args(script_arguments(args), namespace)


def add_force(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--force`: act on a resource that lacks the tool's tags."""
    parser.add_argument("--force", action="store_true", help=help_text)


def echo(message: str = "") -> None:
    """Normal output, on stdout."""
    print(message, flush=True)


def _safe(message: str) -> str:
    """Messages quote what came from elsewhere (AWS, a container, an argument): no control sequence and no
    token-shaped value reaches the terminal through them, and each stays one line."""
    return mask_secrets(" ".join(clean(message).splitlines()))


def warn(message: str) -> None:
    """A warning, on stderr so that stdout stays machine-readable."""
    print(f"warning: {_safe(message)}", file=sys.stderr, flush=True)


def fail(message: str) -> None:
    """The one line that explains why a script stops."""
    print(f"error: {_safe(message)}", file=sys.stderr, flush=True)


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """The library warns through `warnings` (it never prints); a script shows a `SettingsWarning` as one line."""
    if issubclass(category, SettingsWarning):
        warn(str(message))
    else:
        _default_show_warning(message, category, *args, **kwargs)


_default_show_warning = warnings.showwarning


def describe_client_error(error: ClientError) -> str:
    """`AWS refused <Operation>: <Code>: <message>` plus a hint for permission problems."""
    text = f"AWS refused {error.operation_name}: {shown_code(error)}: {error_message(error)}".rstrip(": ")
    if is_access_denied(error):
        text += " (the credentials in use lack this permission: check AWS_PROFILE)"
    return text


def run(main: Callable[[], int]) -> NoReturn:
    """Run a script's `main`, turning known failures into one line on stderr and an exit code."""
    warnings.showwarning = _show_warning
    warnings.simplefilter("always", SettingsWarning)
    try:
        code = main()
    except UserFacingError as error:
        fail(str(error))
        code = error.exit_code
    except ClientError as error:
        fail(describe_client_error(error))
        code = 1
    except NoCredentialsError:
        fail("No AWS credentials found: run `aws configure`, set AWS_PROFILE, or export AWS keys.")
        code = 2
    except EndpointConnectionError as error:
        fail(f"Cannot reach AWS at {error.kwargs.get('endpoint_url')}: check AWS_ENDPOINT_URL and the network.")
        code = 1
    except KeyboardInterrupt:
        fail("interrupted")
        code = INTERRUPTED
    sys.exit(code)
