"""`make metrics`: the endpoint's CloudWatch metrics over --since, one line per metric with a sparkline.

`--json` prints the series for scripts; `--png FILE` also writes a chart (matplotlib, imported only then).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from llm_engineering.aws import connect
from llm_engineering.charts import Line, Panel, resample, sparkline, write_png
from llm_engineering.cli import ArgumentParser, echo, run
from llm_engineering.durations import check_duration, describe
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.metrics import (
    FAMILIES,
    MetricsReport,
    Series,
    choose_period,
    endpoint_metrics,
    fetch_metrics,
)
from llm_engineering.names import check_sagemaker_name
from llm_engineering.resources.endpoints import Endpoint, components_on
from llm_engineering.settings import load_settings

FRESH = timedelta(minutes=10)
"""SageMaker publishes a minute's metrics a few minutes later: younger endpoints may show nothing yet."""
TITLES = {
    "requests": "Requests",
    "errors": "Errors",
    "latency": "Latency",
    "concurrency": "Concurrent requests",
    "utilization": "Utilization",
}


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="metrics", description="Show an endpoint's CloudWatch metrics with sparklines.")
    parser.add_argument("endpoint", nargs="?", help="endpoint name (default: SAGEMAKER_ENDPOINT_INFERENCE)")
    parser.add_argument("--since", default="3h", help="how far back: 30m, 3h (default), 2d")
    parser.add_argument("--period", help="seconds per point as a duration (default: about 60 points over --since)")
    parser.add_argument("--json", action="store_true", help="print the series as JSON instead")
    parser.add_argument("--png", type=Path, help="also write a chart to this PNG file")
    parser.add_argument(
        "--cli", action="store_true", help="also print, per metric, the AWS CLI command that returns its figures"
    )
    return parser


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "count":
        return f"{value:g}" if value < 1000 else f"{value:,.0f}"
    shown = f"{value:.1f}" if value >= 10 else f"{value:.2g}"
    return f"{shown}%" if unit == "%" else f"{shown} {unit}"


COLUMNS = ("latest", "min", "avg", "max")


def _line(item: Series, width: int) -> str:
    stats = item.summary()
    figures = "".join(f"{_number(stats[key], item.metric.unit):>10}" for key in COLUMNS)
    return f"  {item.metric.label:<{width}}{figures}  {sparkline(resample(item.values, 60))}"


def _show(report: MetricsReport, span: timedelta) -> None:
    echo(
        f"{report.endpoint_name}: CloudWatch metrics of the last {describe(span)} "
        f"({report.start:%Y-%m-%d %H:%M} to {report.end:%H:%M} UTC, "
        f"one point per {describe(timedelta(seconds=report.period))}; '-' and blanks: no data point)"
    )
    width = max(len(item.metric.label) for item in report.series)
    echo(f"  {'metric':<{width}}{''.join(f'{column:>10}' for column in COLUMNS)}  trend")
    for family in FAMILIES:
        members = [item for item in report.series if item.metric.family == family]
        if members:
            echo(f" {TITLES[family]}")
            for item in members:
                echo(_line(item, width))


def _panels(series: Sequence[Series]) -> list[Panel]:
    panels = []
    for family in FAMILIES:
        members = [item for item in series if item.metric.family == family]
        if members:
            lines = [Line(item.metric.label, item.times, item.values) for item in members]
            panels.append(Panel(TITLES[family], members[0].metric.unit, lines))
    return panels


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    span = check_duration(args.since, "--since")
    period = check_duration(args.period, "--period") if args.period else None
    seconds = choose_period(span, period)
    settings = load_settings()
    name = check_sagemaker_name(args.endpoint or settings.sagemaker_endpoint_inference, "ENDPOINT_NAME")
    if args.png is not None and not args.png.parent.is_dir():
        raise ConfigurationError(f"--png={str(args.png)!r}: directory {args.png.parent} does not exist.")
    aws = connect(settings.aws_region, settings.aws_profile)
    client = aws.client("sagemaker")
    endpoint = Endpoint.get(client, name)
    if endpoint is None:
        raise ConfigurationError(
            f"ENDPOINT_NAME={name!r}: no such endpoint in {aws.region} (make status lists this tool's endpoints)."
        )
    components = [component.name for component in components_on(client, name)] if endpoint.hosts_components else []
    variants = [variant["VariantName"] for variant in endpoint.variants]
    metrics = endpoint_metrics(name, variants, components)
    report = fetch_metrics(aws.client("cloudwatch"), name, metrics, span, period=seconds)
    if args.json:
        echo(json.dumps(report.as_json(), indent=2))
    else:
        _show(report, span)
    if args.cli and not args.json:
        echo("The same figures with the AWS CLI (CloudWatch's units: latencies in microseconds):")
        for item in report.series:
            echo(f"  {item.metric.cli_command(aws.region, report.start, report.end, report.period)}")
    if report.empty and not args.json:
        created = endpoint.raw.get("CreationTime")
        if created is not None and datetime.now(UTC) - created < FRESH:
            echo(f"No data yet: {name} is new, and SageMaker's metrics appear in CloudWatch after a few minutes.")
        else:
            echo(
                f"No data point in the last {describe(span)}: "
                "SageMaker records invocation metrics when requests arrive."
            )
    if args.png is not None:
        write_png(args.png, f"{name}, last {describe(span)} (UTC)", _panels(report.series))
        if not args.json:
            echo(f"Chart written to {args.png}.")
    return 0


if __name__ == "__main__":
    run(main)
