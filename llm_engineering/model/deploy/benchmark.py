"""`make benchmark`: TTFT, inter-token latency, end-to-end latency and throughput over a concurrency sweep.

Every argument and the endpoint are checked before the first request (one line and exit 2 otherwise); then
each level streams its requests through the client of `python test.py`, with a progress bar, and the run ends
with the table, the JSON and a PNG chart in --out. Nothing is created in AWS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from llm_engineering.aws import connect
from llm_engineering.cli import ArgumentParser, echo
from llm_engineering.cli import run as run_script
from llm_engineering.loadtest import chart
from llm_engineering.loadtest.load import Progress
from llm_engineering.loadtest.report import table
from llm_engineering.loadtest.run import prepare, run, write_json
from llm_engineering.loadtest.spec import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_REQUESTS,
    MAX_CONCURRENCY,
    TargetSpec,
    build_spec,
    default_out,
)
from llm_engineering.names import check_sagemaker_name
from llm_engineering.settings import load_settings
from llm_engineering.terminal import clean

BAR = 30


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="make benchmark",
        description="Measure TTFT, ITL, E2E latency, throughput and cost per million tokens over a concurrency sweep.",
    )
    parser.add_argument("--concurrency", default="1,2,4,8,16", help=f"streams per level, 1-{MAX_CONCURRENCY}")
    parser.add_argument("--requests", type=int, help=f"requests per level (default {DEFAULT_REQUESTS})")
    parser.add_argument("--duration", type=float, help="seconds per level instead (bounded by --requests)")
    parser.add_argument("--input-tokens", type=int, help="synthetic prompts of about this many tokens (default 256)")
    parser.add_argument("--prompts", type=Path, help='JSONL file: one prompt per line (a string or {"prompt": ...})')
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS, help="answer length asked for")
    parser.add_argument(
        "--out", type=Path, help="results path without suffix (default benchmarks/results/<endpoint>-<UTC time>)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    parser.add_argument("--endpoint-name", help="endpoint to benchmark (default: SAGEMAKER_ENDPOINT_INFERENCE)")
    parser.add_argument("--component", help="inference component (default: SAGEMAKER_INFERENCE_COMPONENT_NAME)")
    return parser


def _progress(concurrency: int) -> Progress:
    """A bar on stderr for one level (one line per level when stderr is not a terminal)."""
    live = sys.stderr.isatty()

    def show(done: int, planned: int) -> None:
        filled = BAR * done // max(planned, 1)
        if live:
            print(
                f"\r  {concurrency:>3} streams [{'#' * filled}{'.' * (BAR - filled)}] {done}/{planned}",
                end="\n" if done >= planned else "",
                file=sys.stderr,
                flush=True,
            )
        elif done >= planned:
            print(f"  {concurrency:>3} streams: {done} requests done", file=sys.stderr, flush=True)

    return show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for option, value in (("--endpoint-name", args.endpoint_name), ("--component", args.component)):
        if value is not None:
            check_sagemaker_name(value, option)
    settings = load_settings()
    endpoint = args.endpoint_name or settings.sagemaker_endpoint_inference
    spec = build_spec(
        concurrency=args.concurrency,
        requests=args.requests,
        duration=args.duration,
        input_tokens=args.input_tokens,
        prompts_file=args.prompts,
        max_new_tokens=args.max_new_tokens,
        out=args.out or default_out(endpoint),
    )
    aws = connect(settings.aws_region, settings.aws_profile)
    bench = prepare(aws, TargetSpec.from_settings(settings, endpoint, args.component), spec)
    if not args.json:
        model = clean(bench.target.model_id or "model unknown")  # from the endpoint's model, shown as text
        echo(f"Benchmarking {bench.client.target}: {bench.target.label}, {model}")
        echo(f"Levels {', '.join(map(str, spec.levels))}; {spec.requests} requests each; prompts {spec.prompt_source}.")
    document = run(bench, on_level=_progress)
    write_json(document, spec.json_path)
    chart.draw(document, spec.chart_path)
    if args.json:
        echo(json.dumps(document, indent=2))
        return 0
    for line in table(document):
        echo(line)
    echo(f"Results: {spec.json_path} and {spec.chart_path}")
    return 0


if __name__ == "__main__":
    run_script(main)
