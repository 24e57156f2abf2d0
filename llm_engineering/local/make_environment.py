"""The environment for a `make` run from inside another one (the demo's steps, the end-to-end tests).

make hands its state to the commands it runs (MAKEFLAGS, MAKELEVEL, ...) and exports every variable given on
its command line. Under `make demo ARGS=...` or `make test ARGS=...`, a nested `make status` would therefore
inherit the outer ARGS (through MAKEFLAGS and the environment) and pass it to a script that does not accept
it. The nested run gets neither: only what its caller passes on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"
MAKE_STATE = frozenset({"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR"})
"""What make puts in the environment of its commands about itself (a nested make would report as make[1])."""


@cache
def user_variables(makefile: Path = MAKEFILE) -> frozenset[str]:
    """The Makefile's `USER_VARIABLES` (ARGS, PROMPT, ENDPOINT_NAME, ...): the values users pass to targets."""
    if not makefile.is_file():  # installed without the repository: nothing runs make then
        return frozenset()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if line.startswith("USER_VARIABLES :="):
            return frozenset(line.split(":=", 1)[1].split())
    raise LookupError(f"{makefile} defines no USER_VARIABLES")


def nested_make_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without make's own state and the Makefile's user variables."""
    dropped = MAKE_STATE | user_variables()
    return {key: value for key, value in environ.items() if key not in dropped}
