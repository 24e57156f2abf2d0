"""`make benchmark-compare`: two or more `make benchmark` results side by side, and the cheapest configuration
and concurrency that meets a latency target (--slo-ttft-ms and/or --slo-itl-ms at --percentile)."""

from __future__ import annotations

from pathlib import Path

from llm_engineering.cli import ArgumentParser, echo, run
from llm_engineering.loadtest.compare import Slo, cheapest, load_results
from llm_engineering.loadtest.report import side_by_side


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="make benchmark-compare",
        description="Compare benchmark results and pick the cheapest configuration that meets a latency target.",
    )
    parser.add_argument("results", nargs="*", type=Path, help="result files of make benchmark (two or more)")
    parser.add_argument("--slo-ttft-ms", type=float, help="time to first token target, in milliseconds")
    parser.add_argument("--slo-itl-ms", type=float, help="inter-token latency target, in milliseconds")
    parser.add_argument("--percentile", type=int, default=99, help="percentile the targets apply to (50, 90, 99)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    slo = Slo(args.slo_ttft_ms, args.slo_itl_ms, args.percentile)
    documents = load_results(args.results)
    for line in side_by_side(documents):
        echo(line)
    if not slo.given:
        echo("No target given: pass --slo-ttft-ms and/or --slo-itl-ms to pick a configuration.")
        return 0
    choice = cheapest(documents, slo)
    if choice is None:
        echo(f"No configuration meets {slo.text()} without errors at any concurrency measured.")
        return 0
    echo(f"Cheapest meeting {slo.text()}: {choice.text()}.")
    return 0


if __name__ == "__main__":
    run(main)
