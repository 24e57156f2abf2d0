"""The argument parser the IAM scripts share: a usage mistake is one line and exit code 2, like any
other configuration error, instead of argparse's two-line usage dump.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from llm_engineering.errors import ConfigurationError


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` that raises `ConfigurationError` instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ConfigurationError(f"{self.prog}: {message} (see --help).")


def add_force(parser: argparse.ArgumentParser) -> None:
    """`--force`: act on an IAM resource that lacks the tool's tags."""
    parser.add_argument(
        "--force",
        action="store_true",
        help="act on a user, role or policy of that name even if this tool did not create it (no ownership tags)",
    )
