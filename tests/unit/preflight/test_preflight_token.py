"""The Hugging Face token goes to the container only when the model needs one, and the plan says who can read it.

In process: the deploy script against moto and the fake Hub; what reaches SageMaker is read back from the
model moto holds (its environment is what DescribeModel shows anyone allowed to call it).
"""

from __future__ import annotations

from collections.abc import Callable

import boto3
import huggingface_hub.constants
import pytest
from hub_server import hub_model
from preflight_world import MODEL

from llm_engineering.cli import run
from llm_engineering.hosting.container import choose_token
from llm_engineering.hub.tokens import ModelAccess
from llm_engineering.model.deploy import deploy
from llm_engineering.redaction import REDACTED

GATED = "meta-llama/Llama-3.1-8B-Instruct"
EXPLICIT = "hf_" + "Explicit" * 4
LOGIN = "hf_" + "FromLogin" * 4
VISIBLE = "stored in the model's environment: anyone allowed sagemaker:DescribeModel on it can read it"


def invoke(main: Callable[[list[str]], int], *argv: str, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        run(lambda: main(list(argv)))
    captured = capsys.readouterr()
    return int(stopped.value.code or 0), captured.out, captured.err


@pytest.fixture
def logged_in(offline_env, monkeypatch) -> None:
    """A token saved by `hf auth login` (huggingface_hub fixes its path at import time: point it here)."""
    token_file = offline_env / "hf" / "token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(LOGIN)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(token_file))


def sent_environment() -> dict[str, str]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    (model,) = client.list_models()["Models"]
    return client.describe_model(ModelName=model["ModelName"])["PrimaryContainer"]["Environment"]


def plan_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("  HF token"))


@pytest.mark.parametrize("explicit", [False, True])
def test_a_public_ungated_model_gets_no_token_whatever_is_set(
    scenario, fake_hub, logged_in, monkeypatch, capsys, explicit
):
    fake_hub.tokens.update({EXPLICIT, LOGIN})  # valid tokens, of an account that may read the model
    if explicit:
        monkeypatch.setenv("HUGGINGFACE_ACCESS_TOKEN", EXPLICIT)
    code, out, err = invoke(deploy.main, "--yes", capsys=capsys)
    assert code == 0, out + err
    assert "HF_TOKEN" not in sent_environment()
    assert plan_line(out) == (
        f"  HF token       not sent: {MODEL} is public and not gated on the Hub, so the container needs none"
    )
    assert EXPLICIT not in out + err and LOGIN not in out + err


def test_a_gated_model_gets_the_explicit_token_rather_than_the_login_one(
    scenario, fake_hub, logged_in, monkeypatch, capsys
):
    fake_hub.add(hub_model(GATED, parameters={"BF16": 8_030_261_248}, gated="manual", readers={EXPLICIT, LOGIN}))
    monkeypatch.setenv("HF_MODEL_ID", GATED)
    monkeypatch.setenv("HUGGINGFACE_ACCESS_TOKEN", EXPLICIT)
    code, out, err = invoke(deploy.main, "--yes", capsys=capsys)
    assert code == 0, out + err
    assert sent_environment()["HF_TOKEN"] == EXPLICIT
    assert plan_line(out) == (
        f"  HF token       sent (HUGGINGFACE_ACCESS_TOKEN; {GATED} is gated (manual approval) on the Hub), {VISIBLE}"
    )
    assert f"HF_TOKEN={REDACTED}" in out and EXPLICIT not in out + err


def test_a_gated_model_falls_back_to_the_login_token(scenario, fake_hub, logged_in, monkeypatch, capsys):
    fake_hub.add(hub_model(GATED, parameters={"BF16": 8_030_261_248}, gated="auto", readers={LOGIN}))
    monkeypatch.setenv("HF_MODEL_ID", GATED)
    code, out, err = invoke(deploy.main, "--yes", capsys=capsys)
    assert code == 0, out + err
    assert sent_environment()["HF_TOKEN"] == LOGIN
    assert "sent (the token `hf auth login` saved;" in plan_line(out)


@pytest.mark.parametrize("explicit", [False, True])
def test_without_the_hub_only_a_token_set_on_purpose_is_sent(moto_aws, logged_in, monkeypatch, capsys, explicit):
    """--skip-preflight asks the Hub nothing: HUGGINGFACE_ACCESS_TOKEN is sent, the login store's never is."""
    boto3.client("iam").create_role(RoleName="SageMakerExecutionRoleLLM", AssumeRolePolicyDocument="{}")
    if explicit:
        monkeypatch.setenv("HUGGINGFACE_ACCESS_TOKEN", EXPLICIT)
    code, out, err = invoke(deploy.main, "--yes", "--skip-preflight", capsys=capsys)
    assert code == 0, out + err
    why = "the Hub could not tell if it is needed: preflight was skipped (--skip-preflight)"
    if explicit:
        assert sent_environment()["HF_TOKEN"] == EXPLICIT
        assert plan_line(out) == f"  HF token       sent (HUGGINGFACE_ACCESS_TOKEN is set, and {why}), {VISIBLE}"
    else:
        assert "HF_TOKEN" not in sent_environment()
        assert plan_line(out) == (
            f"  HF token       not sent (the Hub could not tell if {MODEL} needs one: preflight was skipped "
            "(--skip-preflight)); set HUGGINGFACE_ACCESS_TOKEN to send one"
        )


def test_the_decision_for_every_answer_of_the_hub(logged_in):
    from pydantic import SecretStr

    explicit = SecretStr(EXPLICIT)
    public, gated, unknown = (
        ModelAccess(False, "public and not gated"),
        ModelAccess(True, "private"),
        ModelAccess.unknown("offline"),
    )
    assert choose_token("m", explicit, public).token is None
    assert choose_token("m", None, gated).token.get_secret_value() == LOGIN
    assert choose_token("m", explicit, gated).token is explicit
    assert choose_token("m", explicit, unknown).token is explicit
    assert choose_token("m", None, unknown).token is None


def test_a_token_shaped_argument_is_never_echoed(offline_env, capsys):
    from llm_engineering.model.deploy import delete, test

    for main, argv in ((test.main, ["--prompt", "Hi", "--endpoint-name", LOGIN]), (delete.main, [LOGIN])):
        code, out, err = invoke(main, *argv, capsys=capsys)
        assert code == 2
        assert LOGIN not in out + err and REDACTED in err
