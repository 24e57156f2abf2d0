"""What every script shares: one-line errors, exit codes, and output helpers.

Library code raises; only scripts print. `run()` is the single place where exceptions become a line on
stderr and an exit code, so no user ever sees a traceback for a mistake they can fix.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from llm_engineering.errors import ConfigurationError, UserFacingError

INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """Every script's parser: a usage mistake is one line and exit code 2, like any other configuration
    error, instead of argparse's two-line usage dump."""

    def error(self, message: str) -> NoReturn:
        raise ConfigurationError(f"{self.prog}: {message} (see --help).")


def add_force(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--force`: act on a resource that lacks the tool's tags."""
    parser.add_argument("--force", action="store_true", help=help_text)


def echo(message: str = "") -> None:
    """Normal output, on stdout."""
    print(message, flush=True)


def warn(message: str) -> None:
    """A warning, on stderr so that stdout stays machine-readable."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def fail(message: str) -> None:
    """The one line that explains why a script stops."""
    print(f"error: {message}", file=sys.stderr, flush=True)


def describe_client_error(error: ClientError) -> str:
    """`AWS refused <Operation>: <Code>: <message>` plus a hint for permission problems."""
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    text = f"AWS refused {error.operation_name}: {code}: {details.get('Message', '')}".rstrip(": ")
    if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
        text += " (the credentials in use lack this permission: check AWS_PROFILE)"
    return text


def run(main: Callable[[], int]) -> NoReturn:
    """Run a script's `main`, turning known failures into one line on stderr and an exit code."""
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
