"""Model access through huggingface_hub against a fake Hub on 127.0.0.1: the exact requests and each verdict."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
from helpers import free_port
from hub_server import LLAMA_8B_CONFIG, hub_model
from huggingface_hub import HfApi
from pydantic import SecretStr

from llm_engineering.hub.models import look_up
from llm_engineering.preflight.model_access import check_model_access

GATED = "meta-llama/Llama-3.1-8B-Instruct"
TOKEN = "hf_fake_token_with_access"
OTHER_TOKEN = "hf_fake_token_without_access"
LLAMA_PARAMETERS = {"BF16": 8_030_261_248}


@pytest.fixture
def api(fake_hub) -> HfApi:
    fake_hub.add(hub_model("Qwen/Qwen2.5-7B-Instruct", parameters={"BF16": 7_615_616_512}, config={"x": 1}))
    fake_hub.add(hub_model(GATED, parameters=LLAMA_PARAMETERS, config=LLAMA_8B_CONFIG, gated="manual", readers={TOKEN}))
    fake_hub.tokens.add(OTHER_TOKEN)
    return HfApi(endpoint=fake_hub.url)


def access(api, model_id, token=None, revision=None):
    lookup = look_up(api, model_id, revision, SecretStr(token) if token else None)
    return lookup, check_model_access(lookup, model_id, revision, token is not None)


def test_public_model_reads_metadata_access_and_config_without_sending_a_token(api, fake_hub):
    lookup, row = access(api, "Qwen/Qwen2.5-7B-Instruct")
    assert row.status == "ok" and row.fix == ""
    assert row.evidence == (
        "Qwen/Qwen2.5-7B-Instruct exists, public, no token is set; the files are readable; pipeline text-generation"
    )
    assert lookup.model.parameters == {"BF16": 7_615_616_512}
    assert lookup.model.config == {"x": 1}
    assert fake_hub.paths() == [
        "/api/models/Qwen/Qwen2.5-7B-Instruct",
        "/api/models/Qwen/Qwen2.5-7B-Instruct/auth-check",
        "/Qwen/Qwen2.5-7B-Instruct/resolve/main/config.json",
    ]
    assert fake_hub.requests[0].query["expand"] == ["gated", "private", "pipeline_tag", "safetensors"]
    assert all(request.authorization is None for request in fake_hub.requests)


def test_gated_model_without_token_is_blocked_but_still_sized(api, fake_hub):
    lookup, row = access(api, GATED)
    assert row.status == "blocked"
    assert row.evidence == (
        f"{GATED} exists, gated (manual approval), no token is set: the container could not download it: "
        "gated models need a token"
    )
    assert row.fix == (
        f"accept the model's conditions at {fake_hub.url}/{GATED}, create a read token at "
        "https://huggingface.co/settings/tokens and set HUGGINGFACE_ACCESS_TOKEN (or run `hf auth login`)"
    )
    # Safetensors metadata is public: the memory check still has its numbers; config.json is not fetched.
    assert lookup.model.parameters == LLAMA_PARAMETERS
    assert lookup.model.config is None
    assert lookup.model.config_note == "config.json is not readable with the token in use"
    assert fake_hub.paths()[-1] == f"/api/models/{GATED}/auth-check"


def test_gated_model_with_an_approved_token_sends_it_and_never_shows_it(api, fake_hub):
    lookup, row = access(api, GATED, TOKEN)
    assert row.status == "ok"
    assert row.evidence == (
        f"{GATED} exists, gated (manual approval), a token is set; the files are readable; pipeline text-generation"
    )
    assert lookup.model.config == LLAMA_8B_CONFIG
    assert [request.authorization for request in fake_hub.requests] == [f"Bearer {TOKEN}"] * 3
    assert TOKEN not in repr(lookup) + str(row)


def test_gated_model_with_a_token_that_has_no_access(api, fake_hub):
    _, row = access(api, GATED, OTHER_TOKEN)
    assert row.status == "blocked"
    assert "the token in use has no access to this gated model (not requested or not yet approved)" in row.evidence
    assert row.fix.startswith(f"request access at {fake_hub.url}/{GATED} with the account that owns the token")


def test_missing_model_is_blocked(api):
    _, row = access(api, "nobody/no-such-model")
    assert row.status == "blocked"
    assert row.evidence == (
        "nobody/no-such-model was not found on the Hub without a token: the container could not download it"
    )
    assert row.fix.startswith("check HF_MODEL_ID (owner/name, as on the model's page)")


def test_private_model_needs_a_token_that_can_read_it(api, fake_hub):
    fake_hub.add(hub_model("me/private-model", parameters={"BF16": 10}, private=True, readers={TOKEN}))
    assert access(api, "me/private-model")[1].status == "blocked"
    _, row = access(api, "me/private-model", TOKEN)
    assert row.status == "ok" and "exists, private, a token is set" in row.evidence


def test_an_invalid_token_is_blocked(api):
    _, row = access(api, "Qwen/Qwen2.5-7B-Instruct", "hf_revoked")
    assert row.status == "blocked"
    assert row.evidence == "the Hub refused the token in use (HTTP 401: Invalid credentials in Authorization header)"
    assert row.fix == "create a read token at https://huggingface.co/settings/tokens and set HUGGINGFACE_ACCESS_TOKEN"
    assert "hf_revoked" not in str(row)


def test_unknown_revision_is_blocked(api, fake_hub):
    _, row = access(api, "Qwen/Qwen2.5-7B-Instruct", revision="v9")
    assert row.status == "blocked"
    assert row.evidence == "Qwen/Qwen2.5-7B-Instruct has no revision 'v9' (HF_MODEL_REVISION)"
    assert fake_hub.paths() == ["/api/models/Qwen/Qwen2.5-7B-Instruct/revision/v9"]


@pytest.mark.parametrize(
    ("tag", "status"),
    [("feature-extraction", "blocked"), ("image-text-to-text", "warning"), (None, "warning")],
)
def test_pipeline_tag_must_be_text_generation(api, fake_hub, tag, status):
    fake_hub.add(hub_model("org/model", parameters={"F32": 10}, pipeline_tag=tag))
    _, row = access(api, "org/model")
    assert row.status == status
    if status == "blocked":
        assert row.evidence.endswith("pipeline feature-extraction: not a text-generation model, which TGI needs")
        assert row.fix == "choose a text-generation model for HF_MODEL_ID"
    else:
        assert f"pipeline {tag or 'not tagged'}: TGI serves only some such models" in row.evidence


def test_missing_config_json_is_noted(api, fake_hub):
    fake_hub.add(hub_model("org/no-config", parameters={"BF16": 10}))
    lookup, row = access(api, "org/no-config")
    assert row.status == "ok"
    assert lookup.model.config is None and lookup.model.config_note == "the repository has no config.json"


@pytest.mark.parametrize("where", ["environment", "import"])
def test_offline_mode_skips_without_any_request(api, fake_hub, monkeypatch, where):
    """Offline as huggingface_hub read it at import, or as the environment says at the time of the check."""
    if where == "environment":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    lookup, row = access(api, GATED, TOKEN)
    assert lookup.model is None and lookup.problem == "offline"
    assert row.status == "warning"
    assert row.evidence == (
        "skipped: offline mode is on (HF_HUB_OFFLINE); model access and memory fit were not checked"
    )
    assert row.fix == "unset HF_HUB_OFFLINE to check the model before deploying"
    assert fake_hub.requests == []


def test_an_unreachable_hub_is_a_warning(fake_hub):
    api = HfApi(endpoint=f"http://127.0.0.1:{free_port()}")
    lookup, row = access(api, "Qwen/Qwen2.5-7B-Instruct")
    assert lookup.problem == "unreachable"
    assert row.status == "warning"
    assert row.evidence.startswith("skipped: the Hub could not be reached (ConnectError: ")
    assert row.fix == "check the network, HTTPS_PROXY or HF_ENDPOINT, then run make preflight again"
