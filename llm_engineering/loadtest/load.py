"""Load: N threads, each streaming one request after another through the client of `python test.py`.

Every token is timed on arrival with `time.perf_counter` (the benchmark's clock, whatever the endpoint's);
the output token count is the engine's own (TGI's `details.generated_tokens`, the OpenAI engines' `usage`),
read by `TokenStream`. Each thread also measures the CPU time it spent itself (receiving, parsing, timing),
so the harness's own cost per token is a figure of the run, not an assumption.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from llm_engineering.inference.streaming import TokenStream

StartStream = Callable[[str], TokenStream]
"""Send one prompt, return its token stream (the client's `stream_text` with the run's parameters)."""
Progress = Callable[[int, int], None]
"""(requests done, requests planned) after each request of a level."""


@dataclass
class Sample:
    """One request as the client saw it, in seconds of the benchmark's clock."""

    started: float
    ttft: float | None = None
    e2e: float | None = None
    gaps: list[float] = field(default_factory=list)
    output_tokens: int = 0
    error: str | None = None
    """The kind of failure (the exception's class name); None for a whole answer."""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.e2e is not None


@dataclass(frozen=True)
class LevelRun:
    """What one concurrency level produced."""

    concurrency: int
    samples: list[Sample]
    wall_seconds: float
    harness_cpu_seconds: float
    """CPU time of the load threads: receiving, event-stream and SSE parsing, JSON, timing."""


def measure(start: StartStream, prompt: str) -> Sample:
    """Stream one answer, timing each token as it arrives."""
    clock = time.perf_counter
    sample = Sample(started=clock())
    try:
        stream = start(prompt)
        sample.headers = dict(stream.headers)
        previous: float | None = None
        with stream:
            for _piece in stream:
                now = clock()
                if previous is None:
                    sample.ttft = now - sample.started
                else:
                    sample.gaps.append(now - previous)
                previous = now
        sample.e2e = clock() - sample.started
        stats = stream.stats
        sample.output_tokens = stats.tokens if stats is not None else len(sample.gaps) + (previous is not None)
    except Exception as error:  # a benchmark counts failures by kind and goes on
        sample.error = type(error).__name__
    return sample


def run_level(
    start: StartStream,
    prompts: Iterable[str],
    concurrency: int,
    requests: int,
    duration: float | None = None,
    progress: Progress | None = None,
) -> LevelRun:
    """`concurrency` streams at a time until `requests` were sent (or `duration` seconds passed)."""
    pool = list(prompts)
    lock = threading.Lock()
    samples: list[Sample] = []
    cpu: list[float] = []
    sent = 0
    began = time.perf_counter()
    deadline = began + duration if duration is not None else None

    def claim() -> int | None:
        nonlocal sent
        with lock:
            if sent >= requests or (deadline is not None and time.perf_counter() >= deadline):
                return None
            sent += 1
            return sent - 1

    def worker() -> None:
        used = time.thread_time()
        while (index := claim()) is not None:
            sample = measure(start, pool[index % len(pool)])
            with lock:
                samples.append(sample)
                done = len(samples)
            if progress is not None:
                progress(done, requests)
        with lock:
            cpu.append(time.thread_time() - used)

    threads = [threading.Thread(target=worker, name=f"benchmark-{n}", daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LevelRun(concurrency, samples, time.perf_counter() - began, sum(cpu))
