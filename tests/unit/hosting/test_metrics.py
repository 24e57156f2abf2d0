"""`make metrics`: the exact GetMetricData requests, the period rule, missing data, sparklines and the PNG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.stub import Stubber

from llm_engineering.charts import Line, Panel, resample, sparkline, write_png
from llm_engineering.errors import ConfigurationError
from llm_engineering.hosting.metrics import MAX_QUERIES, choose_period, endpoint_metrics, fetch_metrics

NOW = datetime(2026, 12, 2, 12, 0, 30, tzinfo=UTC)


def _cloudwatch():
    return botocore.session.get_session().create_client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_model_based_endpoint_queries_sagemakers_own_dimensions():
    metrics = endpoint_metrics("ep", ["AllTraffic"], [])
    by_name = {(m.namespace, m.name, m.stat): m for m in metrics}
    variant = (("EndpointName", "ep"), ("VariantName", "AllTraffic"))
    for stat in ("p50", "p90", "p99"):
        assert by_name[("AWS/SageMaker", "ModelLatency", stat)].dimensions == variant
        assert ("AWS/SageMaker", "OverheadLatency", stat) not in by_name  # not a valid statistic of it (the guide)
    for stat in ("Average", "Maximum"):
        assert by_name[("AWS/SageMaker", "OverheadLatency", stat)].scale == 0.001
    assert by_name[("AWS/SageMaker", "Invocations", "Sum")].dimensions == variant
    assert ("AWS/SageMaker", "ConcurrentRequestsPerModel", "Maximum") in by_name
    assert by_name[("/aws/sagemaker/Endpoints", "GPUUtilization", "Average")].dimensions == variant
    assert len(metrics) == 13  # 3 invocation counts, 3 + 2 latencies, concurrency, 4 host utilizations


def test_component_endpoint_queries_per_component_and_per_variant_hosts():
    metrics = endpoint_metrics("ep", ["AllTraffic"], ["ic"])
    invocations = [m for m in metrics if m.namespace == "AWS/SageMaker"]
    assert {m.dimensions for m in invocations} == {(("InferenceComponentName", "ic"),)}
    assert "ConcurrentRequestsPerCopy" in {m.name for m in invocations}
    hosts = {(m.namespace, m.name) for m in metrics if m.family == "utilization"}
    assert ("/aws/sagemaker/InferenceComponents", "GPUUtilizationNormalized") in hosts
    assert ("/aws/sagemaker/Endpoints", "CPUUtilization") in hosts


def test_one_get_metric_data_call_with_every_query_and_missing_points_stay_none():
    cloudwatch = _cloudwatch()
    metrics = endpoint_metrics("ep", ["AllTraffic"], [])
    stubber = Stubber(cloudwatch)
    start, end = datetime(2026, 12, 2, 9, 0, tzinfo=UTC), datetime(2026, 12, 2, 12, 3, tzinfo=UTC)
    expected = {
        "MetricDataQueries": [metric.query(f"m{index}", 180) for index, metric in enumerate(metrics)],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    latency = next(index for index, m in enumerate(metrics) if m.name == "ModelLatency" and m.stat == "p99")
    answer = {
        "MetricDataResults": [
            {"Id": "m0", "Timestamps": [datetime(2026, 12, 2, 11, 57, tzinfo=UTC)], "Values": [4.0]},
            {"Id": f"m{latency}", "Timestamps": [datetime(2026, 12, 2, 12, 0, tzinfo=UTC)], "Values": [250000.0]},
        ]
    }
    stubber.add_response("get_metric_data", answer, expected)
    with stubber:
        report = fetch_metrics(cloudwatch, "ep", metrics, timedelta(hours=3), period=180, now=NOW)
    stubber.assert_no_pending_responses()
    assert report.batches == 1
    invocations = report.series[0]
    assert len(invocations.values) == 61
    assert invocations.values[-2:] == [4.0, None]
    assert invocations.values.count(None) == 60
    assert invocations.summary() == {"latest": 4.0, "min": 4.0, "avg": 4.0, "max": 4.0}
    assert report.series[latency].latest == 250.0  # microseconds shown as milliseconds
    gpu = next(item for item in report.series if item.metric.name == "GPUUtilization")
    assert gpu.summary()["latest"] is None and not report.empty


def test_more_than_500_queries_go_in_batches():
    cloudwatch = _cloudwatch()
    metrics = endpoint_metrics("ep", ["AllTraffic"], [f"ic-{index}" for index in range(40)])
    assert len(metrics) > MAX_QUERIES
    stubber = Stubber(cloudwatch)
    stubber.add_response("get_metric_data", {"MetricDataResults": []})
    stubber.add_response("get_metric_data", {"MetricDataResults": []})
    with stubber:
        report = fetch_metrics(cloudwatch, "ep", metrics, timedelta(hours=1), period=60, now=NOW)
    stubber.assert_no_pending_responses()
    assert report.batches == 2 and report.empty


@pytest.mark.parametrize(
    ("span", "period"),
    [(timedelta(hours=3), 180), (timedelta(minutes=30), 60), (timedelta(days=2), 2880), (timedelta(days=30), 43200)],
)
def test_about_sixty_points_in_whole_minutes(span, period):
    assert choose_period(span) == period


def test_a_period_cloudwatch_no_longer_keeps_is_refused():
    with pytest.raises(ConfigurationError, match=r"--since=20d is beyond CloudWatch's retention for --period=1m"):
        choose_period(timedelta(days=20), timedelta(minutes=1))
    with pytest.raises(ConfigurationError, match="455 days"):
        choose_period(timedelta(days=500))
    with pytest.raises(ConfigurationError, match="whole minutes"):
        choose_period(timedelta(hours=1), timedelta(seconds=90))
    assert choose_period(timedelta(days=20), timedelta(minutes=5)) == 300


def test_sparkline_scales_between_min_and_max_and_leaves_gaps():
    assert sparkline([0, None, 7, 3.5]) == "▁ █▅"
    assert sparkline([None, None]) == "  "
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([5, 5]) == "▅▅"


def test_resample_keeps_peaks():
    assert resample([1, 9, None, None, 2, 3], 3) == [9, None, 3]
    assert resample([1, 2], 5) == [1, 2]


def test_png_has_one_panel_per_family(tmp_path):
    import matplotlib.image

    times = [NOW + timedelta(minutes=minute) for minute in range(5)]
    panels = [
        Panel("Requests", "count", [Line("Invocations", times, [1, None, 3, 2, 5])]),
        Panel("Latency", "ms", [Line("ModelLatency p50", times, [10.0, 12.0, None, 9.0, 11.0])]),
        Panel("Utilization", "%", [Line("GPUUtilization", times, [None] * 5)]),
    ]
    path = write_png(tmp_path / "chart.png", "ep", panels)
    height, width, _ = matplotlib.image.imread(path).shape
    assert (width, height) == (1000, 800)
