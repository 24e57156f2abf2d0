"""Settings only at the edge: below the scripts, `Settings` is read by the spec builders' `from_settings` alone;
the AWS connection takes a region and a profile, and a benchmark run takes what its spec read."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from llm_engineering import aws
from llm_engineering.aws import connect
from llm_engineering.loadtest.run import prepare
from llm_engineering.loadtest.spec import TargetSpec, build_spec
from llm_engineering.settings import load_settings

PRODUCT = Path(__file__).resolve().parents[2] / "llm_engineering"
EDGE = {"model", "local"}
"""The scripts read the settings; the emulator is not the product."""
OWN = {"settings.py", "setting_sources.py"}


def _library_modules() -> list[Path]:
    return [
        path
        for path in sorted(PRODUCT.rglob("*.py"))
        if not EDGE & set(path.relative_to(PRODUCT).parts) and path.name not in OWN
    ]


def _mentions_settings(node: ast.AST | None) -> bool:
    if node is None:
        return False
    text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ast.unparse(node)
    return "Settings" in text.replace("SettingsWarning", "")


def test_below_the_scripts_only_from_settings_takes_the_settings() -> None:
    takers = []
    for path in _library_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "from_settings":
                arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                if any(_mentions_settings(argument.annotation) for argument in arguments):
                    takers.append(f"{path.relative_to(PRODUCT)}:{node.lineno} {node.name}")
    assert takers == []


def test_no_library_module_loads_the_settings_itself() -> None:
    loaders = [str(path.relative_to(PRODUCT)) for path in _library_modules() if "load_settings" in path.read_text()]
    assert loaders == []


def test_the_aws_connection_takes_a_region_and_a_profile_not_the_settings() -> None:
    assert list(inspect.signature(connect).parameters) == ["region", "profile"]
    assert not hasattr(aws, "from_settings")
    assert "llm_engineering.settings" not in Path(aws.__file__).read_text()


def test_a_benchmark_target_is_read_from_the_settings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_INFERENCE", "bench-endpoint")
    monkeypatch.setenv("ENDPOINT_TYPE", "inference-component")
    monkeypatch.setenv("INFERENCE_REQUEST_TIMEOUT", "33")
    monkeypatch.setenv("ENGINE", "vllm")
    monkeypatch.setenv("TEMPERATURE_INFERENCE", "0.25")
    settings = load_settings()
    target = TargetSpec.from_settings(settings)
    assert (target.endpoint_name, target.component_name) == ("bench-endpoint", settings.inference_component_name)
    assert (target.read_timeout, target.engine, target.params.temperature) == (33, "vllm", 0.25)
    given = TargetSpec.from_settings(settings, "other", "its-component")
    assert (given.endpoint_name, given.component_name) == ("other", "its-component")


def test_a_benchmark_is_prepared_from_its_spec_alone(moto_aws: None, tmp_path: Path) -> None:
    region = connect(region="us-east-1")
    sagemaker = region.client("sagemaker")
    sagemaker.create_model(
        ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "i"}
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "m",
        "InstanceType": "ml.g5.2xlarge",
        "InitialInstanceCount": 1,
    }
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c")
    target = TargetSpec.from_settings(load_settings(), "e")
    spec = build_spec(
        concurrency="1,2",
        requests=2,
        duration=None,
        input_tokens=8,
        prompts_file=None,
        max_new_tokens=5,
        out=tmp_path / "results",
    )
    bench = prepare(region, target, spec)
    assert bench.client.endpoint_name == "e" and bench.client.read_timeout == target.read_timeout
    assert bench.params.max_new_tokens == 5 and bench.target.instance_type == "ml.g5.2xlarge"
