"""One reader for every service's tags (`tags.read`): each shape AWS answers in, read into one mapping, with
every page followed; and no product module calling a tag listing itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from llm_engineering import tags
from llm_engineering.aws import Aws, connect

PRODUCT = Path(__file__).resolve().parents[2] / "llm_engineering"
PAIRS = [{"Key": "llm-engineering:managed-by", "Value": "llm-engineering"}, {"Key": "team", "Value": "ml"}]
EXPECTED = {"llm-engineering:managed-by": "llm-engineering", "team": "ml"}
ROLE_TRUST = '{"Version": "2012-10-17", "Statement": []}'
POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'


def _sagemaker_model(aws: Aws) -> tuple[str, dict[str, str]]:
    answer = aws.client("sagemaker").create_model(
        ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "i"}, Tags=PAIRS
    )
    return "sagemaker", {"ResourceArn": answer["ModelArn"]}


def _alarm(aws: Aws) -> tuple[str, dict[str, str]]:
    cloudwatch = aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="a",
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
        Tags=PAIRS,
    )
    return "cloudwatch", {"ResourceARN": cloudwatch.describe_alarms(AlarmNames=["a"])["MetricAlarms"][0]["AlarmArn"]}


def _schedule_group(aws: Aws) -> tuple[str, dict[str, str]]:
    arn = aws.client("scheduler").create_schedule_group(Name="g", Tags=PAIRS)["ScheduleGroupArn"]
    return "scheduler", {"ResourceArn": arn}


def _role(aws: Aws) -> tuple[str, dict[str, str]]:
    aws.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=ROLE_TRUST, Tags=PAIRS)
    return "iam", {"RoleName": "r"}


def _user(aws: Aws) -> tuple[str, dict[str, str]]:
    aws.client("iam").create_user(UserName="u", Tags=PAIRS)
    return "iam", {"UserName": "u"}


def _policy(aws: Aws) -> tuple[str, dict[str, str]]:
    answer = aws.client("iam").create_policy(PolicyName="p", PolicyDocument=POLICY, Tags=PAIRS)
    return "iam", {"PolicyArn": answer["Policy"]["Arn"]}


def _bucket(aws: Aws) -> tuple[str, dict[str, str]]:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="tagged-bucket")
    s3.put_bucket_tagging(Bucket="tagged-bucket", Tagging={"TagSet": PAIRS})
    return "s3", {"Bucket": "tagged-bucket"}


def _key(aws: Aws) -> tuple[str, dict[str, str]]:
    kms_pairs = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in PAIRS]
    return "kms", {"KeyId": aws.client("kms").create_key(Tags=kms_pairs)["KeyMetadata"]["KeyId"]}


TAGGED: dict[str, Callable[[Aws], tuple[str, dict[str, str]]]] = {
    "SageMaker ListTags: [{Key, Value}]": _sagemaker_model,
    "CloudWatch ListTagsForResource: [{Key, Value}]": _alarm,
    "EventBridge Scheduler ListTagsForResource: [{Key, Value}]": _schedule_group,
    "IAM ListRoleTags": _role,
    "IAM ListUserTags": _user,
    "IAM ListPolicyTags": _policy,
    "S3 GetBucketTagging: TagSet": _bucket,
    "KMS ListResourceTags: [{TagKey, TagValue}]": _key,
}


@pytest.mark.parametrize("shape", TAGGED)
def test_every_service_s_tags_read_as_one_mapping(moto_aws: None, shape: str) -> None:
    aws = connect(region="us-east-1")
    service, resource = TAGGED[shape](aws)
    assert tags.read(aws.client(service), **resource) == EXPECTED
    assert tags.is_managed(tags.read(aws.client(service), **resource))


def test_application_auto_scaling_s_mapping_of_tags_reads_the_same(moto_aws: None) -> None:
    """Its ListTagsForResource answers a mapping, not a list (moto lacks the call: the answer is stubbed)."""
    scaling = connect(region="us-east-1").client("application-autoscaling")
    arn = "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123"
    with Stubber(scaling) as stub:
        stub.add_response("list_tags_for_resource", {"Tags": dict(EXPECTED)}, {"ResourceARN": arn})
        assert tags.read(scaling, ResourceARN=arn) == EXPECTED


def test_every_page_is_read(moto_aws: None) -> None:
    aws = connect(region="us-east-1")
    requests: list[dict[str, Any]] = []
    aws.session.register("before-call.sagemaker.ListTags", lambda params, **_: requests.append(params["body"]))
    sagemaker = aws.client("sagemaker")
    many = [{"Key": f"k{number}", "Value": str(number)} for number in range(130)]
    arn = sagemaker.create_model(
        ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "i"}, Tags=many
    )["ModelArn"]
    assert tags.read(sagemaker, ResourceArn=arn) == {tag["Key"]: tag["Value"] for tag in many}
    assert len(requests) == 2  # 100 a page, as the client path has always asked


def test_a_bucket_without_tags_has_none_and_a_gone_resource_reads_empty_only_when_asked(moto_aws: None) -> None:
    aws = connect(region="us-east-1")
    aws.client("s3").create_bucket(Bucket="bare-bucket")
    assert tags.read(aws.client("s3"), Bucket="bare-bucket") == {}
    with pytest.raises(ClientError):
        tags.read(aws.client("iam"), RoleName="gone")
    assert tags.read_if_exists(aws.client("iam"), RoleName="gone") == {}


def test_a_resource_named_in_a_way_its_service_does_not_list_tags_by_is_a_bug(moto_aws: None) -> None:
    with pytest.raises(TypeError, match="cannot read iam tags by ResourceArn"):
        tags.read(connect(region="us-east-1").client("iam"), ResourceArn="arn:aws:iam::123456789012:role/r")


@pytest.mark.parametrize(
    "shape",
    [
        PAIRS,
        [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in PAIRS],
        dict(EXPECTED),
        iter(PAIRS),
    ],
    ids=["Key/Value", "TagKey/TagValue", "mapping", "iterator"],
)
def test_as_dict_reads_every_shape(shape: Any) -> None:
    assert tags.as_dict(shape) == EXPECTED


def test_no_product_module_calls_a_tag_listing_itself() -> None:
    """Tags are read through `tags.read` only (writing them, `Tags=tool_tags()`, is not reading)."""
    listing = re.compile(
        r"\.(list_tags|list_tags_for_resource|list_role_tags|list_user_tags|list_policy_tags|"
        r"get_bucket_tagging|list_resource_tags)\(|\"list_tags\""
    )
    found = [
        f"{path.relative_to(PRODUCT)}:{number}"
        for path in sorted(PRODUCT.rglob("*.py"))
        if "local" not in path.relative_to(PRODUCT).parts and path.name != "tags.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if listing.search(line)
    ]
    assert found == []
