"""One reader for AWS refusals (`refusals`): every service's "not found", read from what moto (or botocore's
own service models) answer, and nothing in the product parses `response["Error"]` by hand."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from llm_engineering.aws import connect, delete_if_exists, get_or_none
from llm_engineering.refusals import (
    ACCESS_DENIED_CODES,
    NOT_FOUND_CODES,
    error_code,
    error_field,
    error_message,
    http_status,
    is_access_denied,
    is_not_found,
    shown_code,
)

PRODUCT = Path(__file__).resolve().parents[2] / "llm_engineering"
MISSING: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "IAM role": ("iam", lambda c: c.get_role(RoleName="gone")),
    "SageMaker endpoint": ("sagemaker", lambda c: c.describe_endpoint(EndpointName="gone")),
    "SageMaker model": ("sagemaker", lambda c: c.describe_model(ModelName="gone")),
    "S3 bucket (HEAD)": ("s3", lambda c: c.head_bucket(Bucket="gone-bucket")),
    "S3 bucket": ("s3", lambda c: c.list_objects_v2(Bucket="gone-bucket")),
    "S3 object": ("s3", lambda c: (c.create_bucket(Bucket="here"), c.get_object(Bucket="here", Key="gone"))),
    "KMS key": ("kms", lambda c: c.describe_key(KeyId="11111111-2222-3333-4444-555555555555")),
    "log group": ("logs", lambda c: c.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/gone")),
    "schedule": ("scheduler", lambda c: c.get_schedule(Name="gone")),
}
"""Application Auto Scaling and CloudWatch are not here: moto answers a ValidationException (AWS and the
emulator: ObjectNotFoundException) or nothing at all; the table test below covers their codes."""


@pytest.mark.parametrize("what", MISSING)
def test_every_service_s_answer_for_a_missing_resource_reads_as_not_found(moto_aws: None, what: str) -> None:
    service, call = MISSING[what]
    client = connect(region="us-east-1").client(service)
    with pytest.raises(ClientError) as refused:
        call(client)
    assert is_not_found(refused.value), (error_code(refused.value), error_message(refused.value))
    assert get_or_none(lambda: call(client)) is None
    assert error_code(refused.value) in NOT_FOUND_CODES[service] or error_code(refused.value) == "ValidationException"


def test_the_not_found_table_holds_only_codes_each_service_documents() -> None:
    """A typo in the table would make a missing resource raise instead of reading as None."""
    session = botocore.session.get_session()
    for service, codes in NOT_FOUND_CODES.items():
        model = session.get_service_model(service)
        documented = {
            shape.metadata.get("error", {}).get("code") or shape.name
            for operation in model.operation_names
            for shape in model.operation_model(operation).error_shapes
        }
        bare_http = {"404", "NotFound"} if service == "s3" else set()  # a HEAD has no body to name a code in
        assert codes - bare_http <= documented, (service, codes - documented)


@pytest.mark.parametrize(("service", "code"), [(s, c) for s, codes in NOT_FOUND_CODES.items() for c in sorted(codes)])
def test_every_code_in_the_table_reads_as_not_found(service: str, code: str) -> None:
    assert is_not_found(ClientError({"Error": {"Code": code, "Message": ""}}, f"{service}:Call"))


def test_sagemaker_s_validation_errors_are_not_found_only_when_their_words_say_so() -> None:
    def refusal(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "DescribeEndpoint")

    assert is_not_found(refusal("ValidationException", "Could not find endpoint 'x'"))
    assert is_not_found(refusal("ValidationError", "Inference component x does not exist"))
    assert not is_not_found(refusal("ValidationException", "Value 'x' failed to satisfy constraint"))
    assert not is_not_found(refusal("ThrottlingException", "Could not find the patience"))


def test_a_refusal_the_call_still_raises_through_get_or_none_and_delete_if_exists() -> None:
    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteModel")

    with pytest.raises(ClientError):
        get_or_none(denied)
    with pytest.raises(ClientError):
        delete_if_exists(denied)


def test_the_reader_takes_any_error_and_answers_empty_for_what_is_not_a_refusal() -> None:
    refusal = ClientError(
        {
            "Error": {"Code": "ModelStreamError", "Message": "boom", "ErrorCode": "500"},
            "ResponseMetadata": {"HTTPStatusCode": 424},
        },
        "InvokeEndpointWithResponseStream",
    )
    assert (error_code(refusal), error_message(refusal), error_field(refusal, "ErrorCode")) == (
        "ModelStreamError",
        "boom",
        "500",
    )
    assert http_status(refusal) == 424 and shown_code(refusal) == "ModelStreamError"
    unreachable = EndpointConnectionError(endpoint_url="https://sagemaker.us-east-1.amazonaws.com")
    for error in (unreachable, ValueError("x"), ClientError({}, "GetRole")):
        assert (error_code(error), error_message(error), error_field(error, "Code")) == ("", "", None)
        assert shown_code(error) == "Unknown" and not is_not_found(error) and not is_access_denied(error)
    assert http_status(unreachable) is None


@pytest.mark.parametrize("code", sorted(ACCESS_DENIED_CODES))
def test_access_denied_is_one_table(code: str) -> None:
    assert is_access_denied(ClientError({"Error": {"Code": code, "Message": ""}}, "HeadBucket"))


def test_no_product_module_parses_a_refusal_by_hand() -> None:
    """`response["Error"]` is read in `refusals` only (the emulator, which raises refusals, is not the product)."""
    hand_parse = re.compile(r"""response(\.get\(|\[)["']Error["']""")
    found = [
        f"{path.relative_to(PRODUCT)}:{number}"
        for path in sorted(PRODUCT.rglob("*.py"))
        if "local" not in path.relative_to(PRODUCT).parts and path.name != "refusals.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if hand_parse.search(line)
    ]
    assert found == []
