"""Progress of `make stage-model` on the console: a bar per file and one overall (tqdm), or one line per file.

On a terminal two tqdm bars show the current file (its download, then its upload) and the bytes uploaded
overall; elsewhere (CI, pipes, tests) each finished file is one line, so logs stay readable. The transfer
manager reports from its worker threads, hence the lock.
"""

from __future__ import annotations

import sys
import threading
from typing import Literal, TextIO

from tqdm import tqdm

from llm_engineering.weights.manifest import size_label


class TransferConsole:
    """A `StageReporter` that draws bars on a terminal and prints one line per file otherwise."""

    def __init__(self, total_bytes: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        self._bar: tqdm | None = None
        self._overall = tqdm(
            total=total_bytes,
            desc="uploaded",
            unit="B",
            unit_scale=True,
            file=self.stream,
            disable=not self.live,
            position=0,
            leave=True,
        )

    def begin_file(self, name: str, size: int, action: Literal["download", "upload"]) -> None:
        with self._lock:
            self._close_bar()
            self._sizes[name] = size
            self._bar = tqdm(
                total=size,
                desc=f"{action} {name}",
                unit="B",
                unit_scale=True,
                file=self.stream,
                disable=not self.live,
                position=1,
                leave=False,
            )

    def advance(self, nbytes: int, *, upload: bool) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.update(nbytes)
            if upload:
                self._overall.update(nbytes)

    def end_file(self, name: str, outcome: str) -> None:
        with self._lock:
            self._close_bar()
            line = f"- {outcome} {name} ({size_label(self._sizes.get(name, 0))})"
            if self.live:
                tqdm.write(line, file=self.stream)
            else:
                self.stream.write(line + "\n")
                self.stream.flush()

    def finish(self) -> None:
        with self._lock:
            self._close_bar()
            self._overall.close()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
