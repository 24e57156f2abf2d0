"""Settings: environment over .env, typed defaults, and one readable line for every bad value."""

from __future__ import annotations

import pytest

from llm_engineering.errors import ConfigurationError
from llm_engineering.hub.tokens import hub_token
from llm_engineering.settings import ENV_FILE_VARIABLE, load_settings


def test_defaults_are_the_documented_ones(monkeypatch):
    settings = load_settings()
    assert settings.gpu_instance_type == "ml.g5.2xlarge"
    assert settings.endpoint_type == "model-based"
    assert settings.sagemaker_execution_role_name == "SageMakerExecutionRoleLLM"
    assert settings.sagemaker_user_name == "sagemaker-deployer"
    assert settings.hf_model_id == "Qwen/Qwen2.5-7B-Instruct"
    assert settings.inference_component_name == "llm-engineering-endpoint-ic"
    assert settings.aws_arn_role is None


def test_environment_wins_over_the_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_text("HF_MODEL_ID=from/file\nGPU_INSTANCE_TYPE=ml.g6.2xlarge\nCOPY_COUNT=\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    monkeypatch.setenv("HF_MODEL_ID", "from/environment")
    settings = load_settings()
    assert settings.hf_model_id == "from/environment"
    assert settings.gpu_instance_type == "ml.g6.2xlarge"


def test_names_match_in_any_case_and_empty_or_foreign_ones_are_skipped(tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_text("hf_model_id=from/file\nOTHER_TOOL_TOKEN=secret\nAWS_PROFILE\nCOPY_COUNT=3\nDEPLOY_TIMEOUT=\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    monkeypatch.setenv("COPY_COUNT", "")  # empty in the environment: the file's value stands
    monkeypatch.setenv("gpu_instance_type", "ml.g6.xlarge")
    settings = load_settings()
    assert settings.hf_model_id == "from/file"
    assert settings.copy_count == 3
    assert settings.gpu_instance_type == "ml.g6.xlarge"
    assert settings.aws_profile is None and settings.deploy_timeout == 1800
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(tmp_path / "missing.env"))
    assert load_settings().hf_model_id == "Qwen/Qwen2.5-7B-Instruct"


def test_dot_env_in_the_working_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_FILE_VARIABLE)
    (tmp_path / ".env").write_text("SAGEMAKER_ENDPOINT_INFERENCE=from-dot-env\nAWS_ARN_ROLE=\n")
    assert load_settings().sagemaker_endpoint_inference == "from-dot-env"


def test_comma_separated_buckets(monkeypatch):
    monkeypatch.setenv("EXECUTION_ROLE_S3_BUCKETS", "models-a, models-b")
    assert load_settings().execution_role_s3_buckets == ("models-a", "models-b")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "GPU_INSTANCE_TYPE",
            "g5.2xlarge",
            "GPU_INSTANCE_TYPE='g5.2xlarge' is invalid: must look like ml.<family>.<size>",
        ),
        (
            "ENDPOINT_TYPE",
            "foo",
            "ENDPOINT_TYPE='foo' is invalid: Input should be 'model-based' or 'inference-component'",
        ),
        ("TEMPERATURE_INFERENCE", "-0.5", "TEMPERATURE_INFERENCE='-0.5' is invalid: Input should be greater than 0"),
        ("TOP_P_INFERENCE", "1.5", "TOP_P_INFERENCE='1.5' is invalid: Input should be less than 1"),
        ("COPY_COUNT", "0", "COPY_COUNT='0' is invalid: Input should be greater than 0"),
        ("COPY_COUNT", "-2", "COPY_COUNT='-2' is invalid: Input should be greater than 0"),
        ("HF_MODEL_ID", "not a model", "HF_MODEL_ID='not a model' is invalid: must be a Hugging Face model id"),
        ("SAGEMAKER_ENDPOINT_INFERENCE", "a" * 64, "SAGEMAKER_ENDPOINT_INFERENCE='aaaa"),
        ("SAGEMAKER_ENDPOINT_INFERENCE", "my_endpoint", "must be 1-63 letters, digits or hyphens"),
        ("AWS_ARN_ROLE", "SageMakerRole", "AWS_ARN_ROLE='SageMakerRole' is invalid: must be an IAM role ARN"),
        ("HF_MODEL_QUANTIZE", "NF4 please", "HF_MODEL_QUANTIZE='NF4 please' is invalid: must be a quantization method"),
        ("ENGINE", "tensorrt", "ENGINE='tensorrt' is invalid: Input should be 'tgi', 'vllm' or 'sglang'"),
        ("GPU_MEMORY_UTILIZATION", "1.2", "GPU_MEMORY_UTILIZATION='1.2' is invalid: Input should be less than or"),
        ("CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT", "5000", "should be less than or equal to 3600"),
        ("EXECUTION_ROLE_S3_BUCKETS", "Bad_Bucket", "'Bad_Bucket' is not an S3 bucket name"),
        ("WAIT_POLL_INTERVAL", "0", "WAIT_POLL_INTERVAL='0' is invalid: Input should be greater than or equal to 0.05"),
        ("GPU_INSTANCE_COUNT", "0", "GPU_INSTANCE_COUNT='0' is invalid: Input should be greater than 0"),
        ("GPUS_PER_COPY", "two", "GPUS_PER_COPY='two' is invalid: Input should be a valid integer"),
        ("DEPLOY_TIMEOUT", "-5", "DEPLOY_TIMEOUT='-5' is invalid: Input should be greater than 0"),
        ("INFERENCE_REQUEST_TIMEOUT", "soon", "INFERENCE_REQUEST_TIMEOUT='soon' is invalid"),
        ("HF_MODEL_TRUST_REMOTE_CODE", "maybe", "HF_MODEL_TRUST_REMOTE_CODE='maybe' is invalid"),
    ],
)
def test_bad_values_give_one_line_naming_setting_value_and_rule(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    text = str(error.value)
    assert message in text
    assert "\n" not in text and text.endswith("Fix it in .env or the environment.")


def test_inconsistent_token_limits_name_both_settings(monkeypatch):
    monkeypatch.setenv("MAX_INPUT_TOKENS", "4096")
    monkeypatch.setenv("MAX_TOTAL_TOKENS", "2048")
    with pytest.raises(ConfigurationError, match="MAX_INPUT_TOKENS=4096 must be less than MAX_TOTAL_TOKENS=2048"):
        load_settings()


def test_prefill_below_input_is_refused(monkeypatch):
    monkeypatch.setenv("MAX_BATCH_PREFILL_TOKENS", "100")
    with pytest.raises(ConfigurationError, match="MAX_BATCH_PREFILL_TOKENS=100 must be at least MAX_INPUT_TOKENS=2048"):
        load_settings()


def test_token_is_secret_and_never_echoed(monkeypatch):
    monkeypatch.setenv("HUGGINGFACE_ACCESS_TOKEN", "hf_abcdefsecret")
    settings = load_settings()
    assert "hf_abcdefsecret" not in repr(settings) and "hf_abcdefsecret" not in str(settings)
    assert hub_token(settings.huggingface_access_token).get_secret_value() == "hf_abcdefsecret"


def test_token_falls_back_to_the_huggingface_login(offline_env, monkeypatch):
    token_file = offline_env / "hf" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text("hf_fromlogin")
    # huggingface_hub fixes its token path at import time; point it at this test's home.
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(token_file))
    assert hub_token(load_settings().huggingface_access_token).get_secret_value() == "hf_fromlogin"


def test_no_token_anywhere_is_none(offline_env, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(offline_env / "hf" / "token"))
    monkeypatch.setattr("huggingface_hub.constants.HF_STORED_TOKENS_PATH", str(offline_env / "hf" / "stored"))
    assert hub_token(load_settings().huggingface_access_token) is None


def field_docstrings() -> dict[str, str]:
    """Each Settings field's docstring, read from the source as pydantic would."""
    import ast
    import inspect
    import itertools

    from llm_engineering.settings import Settings

    body = ast.parse(inspect.getsource(Settings)).body[0].body  # type: ignore[attr-defined]
    return {
        node.target.id: following.value.value
        for node, following in itertools.pairwise(body)
        if isinstance(node, ast.AnnAssign)
        and isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Constant)
    }


def test_every_setting_is_documented_in_env_example_with_its_docstring():
    from helpers import REPO

    from llm_engineering.settings import Settings

    docstrings = field_docstrings()
    assert set(docstrings) == set(Settings.model_fields)
    lines = (REPO / ".env.example").read_text().splitlines()
    for name in Settings.model_fields:
        assignment = next(i for i, line in enumerate(lines) if line.startswith(f"{name.upper()}="))
        assert lines[assignment - 1] == f"# {docstrings[name]}", name


def test_env_example_as_dot_env_gives_the_defaults(monkeypatch):
    from helpers import REPO

    monkeypatch.setenv("LLM_ENGINEERING_ENV_FILE", str(REPO / ".env.example"))
    monkeypatch.delenv("AWS_REGION")
    from_example = load_settings().model_dump()
    monkeypatch.setenv("LLM_ENGINEERING_ENV_FILE", "/nonexistent/.env")
    assert from_example == load_settings().model_dump()


def test_version_matches_the_project_metadata():
    import tomllib

    from helpers import REPO

    from llm_engineering import __version__

    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"] == __version__


# --- .env lines python-dotenv cannot read, and names that are close to a setting's -----------------------------


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("GPU_INSTANCE_TYPE ml.g4dn.xlarge", "the line starting with GPU_INSTANCE_TYPE"),
        ('HF_MODEL_ID="Qwen/Qwen2.5-7B-Instruct', "the line starting with HF_MODEL_ID"),
        ("HUGGINGFACE_ACCESS_TOKEN 'hf_" + "a" * 34, "the line starting with HUGGINGFACE_ACCESS_TOKEN"),
        ("'unquoted", "the line"),
    ],
)
def test_an_unreadable_env_line_stops_with_the_file_and_line(tmp_path, monkeypatch, line, shown):
    env_file = tmp_path / "settings.env"
    env_file.write_text(f"# settings\nAWS_REGION=us-east-1\n{line}\nCOPY_COUNT=2\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert str(error.value) == (
        f"{env_file}, line 3: {shown} cannot be read (python-dotenv expects NAME=value, with quotes closed on the "
        "same line): fix or remove that line."
    )
    assert error.value.exit_code == 2


def test_names_close_to_a_setting_are_reported_with_the_setting_meant(tmp_path, monkeypatch):
    from llm_engineering.errors import SettingsWarning

    env_file = tmp_path / "settings.env"
    env_file.write_text("GPU_INSTANCE_TYPES=ml.g5.xlarge\nhf_modle_id=x/y\nOTHER_TOOL_URL=http://x\nHF_TOKEN=\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_INFERENCES", "typo")
    monkeypatch.setenv("MAX_NEW_TOKEN_INFERENCE", "64")
    for unrelated in ("AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "HF_HOME", "MAX_JOBS", "PATH_INFO", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(unrelated, "x")
    with pytest.warns(SettingsWarning) as caught:
        settings = load_settings()
    assert sorted(str(warning.message) for warning in caught) == sorted(
        [
            f"{env_file}, line 1: GPU_INSTANCE_TYPES is not a setting of this tool and is ignored; did you mean "
            "GPU_INSTANCE_TYPE?",
            f"{env_file}, line 2: hf_modle_id is not a setting of this tool and is ignored; did you mean HF_MODEL_ID?",
            "environment variable SAGEMAKER_ENDPOINT_INFERENCES is not a setting of this tool and is ignored; did you "
            "mean SAGEMAKER_ENDPOINT_INFERENCE?",
            "environment variable MAX_NEW_TOKEN_INFERENCE is not a setting of this tool and is ignored; did you mean "
            "MAX_NEW_TOKENS_INFERENCE?",
        ]
    )
    assert settings.gpu_instance_type == "ml.g5.2xlarge"  # the misspelt name changed nothing


def test_a_warning_is_one_line_on_stderr_in_a_script(tmp_path, monkeypatch, capsys):
    from llm_engineering.cli import run

    monkeypatch.setenv("GPU_INSTANCE_TYPES", "ml.g5.xlarge")
    with pytest.raises(SystemExit):
        run(lambda: load_settings() and 0)
    assert capsys.readouterr().err == (
        "warning: environment variable GPU_INSTANCE_TYPES is not a setting of this tool and is ignored; did you mean "
        "GPU_INSTANCE_TYPE?\n"
    )


def test_endpoint_name_is_an_alias_that_wins(tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_text("SAGEMAKER_ENDPOINT_INFERENCE=from-file\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    assert load_settings().sagemaker_endpoint_inference == "from-file"
    monkeypatch.setenv("ENDPOINT_NAME", "from-make")
    assert load_settings().sagemaker_endpoint_inference == "from-make"
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_INFERENCE", "from-environment")
    assert load_settings().sagemaker_endpoint_inference == "from-make"
    assert load_settings().inference_component_name == "from-make-ic"
    monkeypatch.setenv("ENDPOINT_NAME", "bad.name")
    with pytest.raises(ConfigurationError, match=r"^ENDPOINT_NAME='bad.name' is invalid: must be 1-63 letters"):
        load_settings()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "NaN"])
@pytest.mark.parametrize("name", ["TEMPERATURE_INFERENCE", "REPETITION_PENALTY_INFERENCE", "WAIT_POLL_INTERVAL"])
def test_non_finite_numbers_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}={value!r} is invalid: ")
    assert "finite number" in str(error.value) or "greater than" in str(error.value)


TOKEN_SHAPED = "hf_" + "Ab1" * 12


@pytest.mark.parametrize(
    "name", ["HF_MODEL_ID", "HF_MODEL_REVISION", "TGI_IMAGE_VERSION", "SAGEMAKER_USER_NAME", "AWS_PROFILE"]
)
def test_a_token_in_a_plain_setting_is_refused_without_being_shown(monkeypatch, name):
    monkeypatch.setenv(name, TOKEN_SHAPED)
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert str(error.value) == (
        f"{name}=<hidden> is invalid: looks like a Hugging Face access token; tokens belong in "
        "HUGGINGFACE_ACCESS_TOKEN only. Fix it in .env or the environment."
    )
    monkeypatch.delenv(name)
    monkeypatch.setenv("HUGGINGFACE_ACCESS_TOKEN", TOKEN_SHAPED)
    assert load_settings().huggingface_access_token.get_secret_value() == TOKEN_SHAPED
