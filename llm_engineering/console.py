"""Live progress for the scripts: one updating line on a terminal, one line per change otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from llm_engineering.resources.waiting import Progress


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class ConsoleReporter:
    """Prints steps as lines and waiting as a live status line (the library itself never prints)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self._open_line = False
        self._last: tuple[str, str] | None = None

    def _close_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False

    def step(self, text: str) -> None:
        self._close_line()
        self.stream.write(f"- {text}\n")
        self.stream.flush()

    def progress(self, progress: Progress) -> None:
        line = f"  waiting for {progress.subject}: {progress.status} ({_clock(progress.elapsed)})"
        if self.live:
            self.stream.write("\r" + line.ljust(78))
            self._open_line = True
            if progress.done:
                self._close_line()
        elif (progress.subject, progress.status) != self._last or progress.done:
            self.stream.write(line + "\n")
        self._last = (progress.subject, progress.status)
        self.stream.flush()

    def finish(self) -> None:
        self._close_line()
