"""The emulator's Hugging Face Hub, driven by huggingface_hub itself through `<emulator>/_hub` as through any
mirror: model info, gating, revisions, file downloads and the safetensors headers behind the parameter counts."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import huggingface_hub.constants
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import get_hf_file_metadata

from llm_engineering.hub.safetensors import parameter_counts, parse_header, tensors
from llm_engineering.local.hub_catalogue import APPROVED_TOKEN, LLAMA31_8B_CONFIG, QWEN25_7B_CONFIG, builtin_catalogue

QWEN = "Qwen/Qwen2.5-7B-Instruct"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
QWEN_72B = "Qwen/Qwen2.5-72B-Instruct"
EXPAND = ["gated", "private", "pipeline_tag", "safetensors"]


@pytest.fixture
def hub(aws_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The emulated Hub's endpoint; huggingface_hub online (the suite's environment sets HF_HUB_OFFLINE)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return f"{aws_server}/_hub"


def header_of(path: str) -> dict:
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    assert len(data) == 8 + length  # headers only: no tensor bytes follow
    return parse_header(data[8:])


def test_model_info_has_the_real_parameter_counts_and_the_gates(hub):
    api = HfApi(endpoint=hub)
    qwen = api.model_info(QWEN, expand=EXPAND, token=False)
    llama = api.model_info(LLAMA, expand=EXPAND, token=False)
    large = api.model_info(QWEN_72B, expand=EXPAND, token=False)

    assert (qwen.gated, qwen.private, qwen.pipeline_tag) == (False, False, "text-generation")
    assert qwen.safetensors.parameters == {"BF16": 7_615_616_512}
    assert llama.gated == "manual" and llama.safetensors.parameters == {"BF16": 8_030_261_248}
    assert large.gated is False and large.safetensors.total == 72_706_203_648


def test_revisions_resolve_to_the_commit_and_unknown_ones_are_refused(hub):
    api = HfApi(endpoint=hub)
    commit = api.model_info(QWEN, token=False).sha
    assert len(commit) == 40
    assert api.model_info(QWEN, revision="main", token=False).sha == commit
    assert api.model_info(QWEN, revision=commit, token=False).sha == commit
    with pytest.raises(RevisionNotFoundError):
        api.model_info(QWEN, revision="v0.0-nope", token=False)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/nothing", token=False)


def test_siblings_with_blobs_give_sizes_and_lfs_sha256(hub):
    info = HfApi(endpoint=hub).model_info(QWEN, files_metadata=True, token=False)
    siblings = {sibling.rfilename: sibling for sibling in info.siblings}
    shard = siblings["model-00001-of-00004.safetensors"]
    model = builtin_catalogue()[QWEN]
    assert shard.lfs.sha256 == model.file(shard.rfilename).sha256 and shard.size == shard.lfs.size
    assert siblings["config.json"].lfs is None and siblings["config.json"].blob_id
    assert {name for name in siblings if name.endswith(".safetensors")} == {
        f"model-0000{index}-of-00004.safetensors" for index in range(1, 5)
    }


def test_gated_model_refuses_without_token_and_with_an_unapproved_one(hub, tmp_path):
    api = HfApi(endpoint=hub)
    url = f"{hub}/api/models/{LLAMA}/auth-check"
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    def auth_check(token):
        hf_raise_for_status(get_session().get(url, headers=build_hf_headers(token=token)))

    with pytest.raises(GatedRepoError) as anonymous:
        auth_check(False)
    assert anonymous.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as unapproved:
        auth_check("hf_some_account")
    assert unapproved.value.response.status_code == 403
    auth_check(APPROVED_TOKEN)
    with pytest.raises(HfHubHTTPError) as invalid:
        auth_check("not-a-token")
    assert invalid.value.response.status_code == 401

    with pytest.raises(GatedRepoError):
        hf_hub_download(LLAMA, "config.json", endpoint=hub, local_dir=tmp_path / "a", token=False)
    path = hf_hub_download(LLAMA, "config.json", endpoint=hub, local_dir=tmp_path / "b", token=APPROVED_TOKEN)
    assert json.loads(Path(path).read_text()) == LLAMA31_8B_CONFIG
    assert api.model_info(LLAMA, token=False).sha  # the model card stays public


def test_downloads_carry_the_headers_huggingface_hub_checks(hub, tmp_path):
    model = builtin_catalogue()[QWEN]
    config = hf_hub_download(QWEN, "config.json", endpoint=hub, local_dir=tmp_path, token=False)
    assert json.loads(Path(config).read_text()) == QWEN25_7B_CONFIG

    shard = "model-00002-of-00004.safetensors"
    metadata = get_hf_file_metadata(f"{hub}/{QWEN}/resolve/main/{shard}", token=False)
    assert metadata.commit_hash == model.commit
    assert metadata.etag == model.file(shard).sha256
    assert metadata.size == model.file(shard).size
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(QWEN, "pytorch_model.bin", endpoint=hub, local_dir=tmp_path, token=False)


def test_the_headers_of_the_shards_are_the_real_tensor_table(hub, tmp_path):
    headers = [
        header_of(hf_hub_download(QWEN, f"model-0000{i}-of-00004.safetensors", endpoint=hub, local_dir=tmp_path))
        for i in range(1, 5)
    ]
    assert parameter_counts(headers) == {"BF16": 7_615_616_512}
    table = {tensor.name: tensor.shape for header in headers for tensor in tensors(header)}
    assert table["model.embed_tokens.weight"] == (152064, 3584)
    assert table["model.layers.27.self_attn.k_proj.weight"] == (512, 3584)
    assert table["model.layers.0.self_attn.q_proj.bias"] == (3584,)
    assert table["lm_head.weight"] == (152064, 3584)
    index_path = hf_hub_download(QWEN, "model.safetensors.index.json", endpoint=hub, local_dir=tmp_path)
    index = json.loads(Path(index_path).read_text())
    assert set(index["weight_map"]) == set(table)
    assert index["metadata"]["total_size"] == 2 * 7_615_616_512


def test_range_requests_read_just_the_header_length(hub):
    from huggingface_hub.utils import get_session

    url = f"{hub}/{QWEN}/resolve/main/model-00001-of-00004.safetensors"
    answer = get_session().get(url, headers={"Range": "bytes=0-7"})
    assert answer.status_code == 206 and len(answer.content) == 8
    assert answer.headers["Content-Range"].startswith("bytes 0-7/")
