"""The model-access row of a preflight: what `hub.models.look_up` found, told as ok, warning or blocked with
the fix (request access, set the token, choose a text-generation model)."""

from __future__ import annotations

from typing import Any, Literal

from llm_engineering.hub.models import SOMETIMES_SERVED, TEXT_GENERATION, HubLookup, HubModel
from llm_engineering.hub.tokens import TOKEN_SETTING
from llm_engineering.preflight.report import CheckResult

CHECK = "Model access"


def _unreadable_row(
    model: HubModel, model_id: str, facts: str, has_token: bool, details: dict[str, Any]
) -> CheckResult:
    """The model exists but the container could not download it with the token in use."""
    if model.gated and has_token:
        fix = (
            f"request access at {model.page_url} with the account that owns the token, wait for approval, "
            f"then deploy again (or set {TOKEN_SETTING} to a token of an approved account)"
        )
        why = "the token in use has no access to this gated model (not requested or not yet approved)"
    elif model.gated:
        fix = (
            f"accept the model's conditions at {model.page_url}, create a read token at "
            f"https://huggingface.co/settings/tokens and set {TOKEN_SETTING} (or run `hf auth login`)"
        )
        why = "the container could not download it: gated models need a token"
    else:
        fix = f"set {TOKEN_SETTING} to a token of an account that can read {model_id}"
        why = "the token in use cannot read it"
    return CheckResult(CHECK, "blocked", f"{facts}: {why}", fix, details)


def check_model_access(lookup: HubLookup, model_id: str, revision: str | None, has_token: bool) -> CheckResult:
    """The model-access row: exists, gated or not, readable with the token in use, a text-generation model."""
    if lookup.model is None:
        return _problem_row(lookup, model_id, revision, has_token)
    model = lookup.model
    gate = f"gated ({model.gated} approval)" if model.gated else ("private" if model.private else "public")
    facts = [f"{model_id} exists, {gate}, {'a token is set' if has_token else 'no token is set'}"]
    details: dict[str, Any] = {
        "gated": model.gated,
        "private": model.private,
        "readable": model.readable,
        "pipeline_tag": model.pipeline_tag,
        "token_set": has_token,
    }
    if model.readable is False:
        return _unreadable_row(model, model_id, facts[0], has_token, details)
    status: Literal["ok", "warning", "blocked"] = "ok"
    fixes: list[str] = []
    if model.readable is None:
        status = "warning"
        facts.append(f"read access not checked ({model.access_note})")
        fixes.append("check that the token can download the model")
    else:
        facts.append("the files are readable")
    tag = model.pipeline_tag
    if tag == TEXT_GENERATION:
        facts.append(f"pipeline {tag}")
    elif tag in SOMETIMES_SERVED or tag is None:
        status = "warning"
        facts.append(f"pipeline {tag or 'not tagged'}: TGI serves only some such models")
        fixes.append("check that TGI supports this architecture (TGI docs, supported models)")
    else:
        evidence = f"{'; '.join(facts)}; pipeline {tag}: not a text-generation model, which TGI needs"
        return CheckResult(CHECK, "blocked", evidence, "choose a text-generation model for HF_MODEL_ID", details)
    return CheckResult(CHECK, status, "; ".join(facts), "; ".join(fixes), details)


def _problem_row(lookup: HubLookup, model_id: str, revision: str | None, has_token: bool) -> CheckResult:
    details = {"problem": lookup.problem}
    if lookup.problem == "offline":
        return CheckResult(
            CHECK,
            "warning",
            f"skipped: {lookup.message}; model access and memory fit were not checked",
            "unset HF_HUB_OFFLINE to check the model before deploying",
            details,
        )
    if lookup.problem == "unreachable":
        return CheckResult(
            CHECK,
            "warning",
            f"skipped: the Hub could not be reached ({lookup.message}); model access and memory fit were not checked",
            "check the network, HTTPS_PROXY or HF_ENDPOINT, then run make preflight again",
            details,
        )
    if lookup.problem == "revision":
        return CheckResult(
            CHECK,
            "blocked",
            f"{model_id} has no revision {revision!r} (HF_MODEL_REVISION)",
            "set HF_MODEL_REVISION to a branch, tag or commit of the model, or unset it",
            details,
        )
    if lookup.problem == "disabled":
        return CheckResult(
            CHECK, "blocked", f"{model_id} is disabled on the Hub", "choose another HF_MODEL_ID", details
        )
    if lookup.problem == "token":
        return CheckResult(
            CHECK,
            "blocked",
            f"the Hub refused the token in use ({lookup.message})",
            f"create a read token at https://huggingface.co/settings/tokens and set {TOKEN_SETTING}",
            details,
        )
    seen = "with the token in use" if has_token else "without a token"
    return CheckResult(
        CHECK,
        "blocked",
        f"{model_id} was not found on the Hub {seen}: the container could not download it",
        f"check HF_MODEL_ID (owner/name, as on the model's page); for a private model set {TOKEN_SETTING} "
        "to a token that can read it",
        details,
    )
