"""`make cleanup`'s rules that the emulator cannot show: scalable targets are this tool's only by their tags."""

from __future__ import annotations

import botocore.session
from botocore.stub import Stubber

from llm_engineering.aws import Aws
from llm_engineering.hosting.cleanup import Orphan, Orphans, _scalable_targets, remove

ARN = "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/"


class _Aws(Aws):
    def __init__(self, client: object) -> None:
        self.scaling = client

    def client(self, service: str, *, read_timeout: float | None = None) -> object:
        assert service == "application-autoscaling"
        return self.scaling


def _target(resource_id: str, suffix: str) -> dict:
    dimension = (
        "sagemaker:inference-component:DesiredCopyCount"
        if resource_id.startswith("inference-component/")
        else "sagemaker:variant:DesiredInstanceCount"
    )
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "MinCapacity": 1,
        "MaxCapacity": 2,
        "RoleARN": "arn:aws:iam::123456789012:role/r",
        "CreationTime": "2026-12-01T00:00:00Z",
        "ScalableTargetARN": ARN + suffix,
    }


def test_only_tagged_targets_of_gone_endpoints_or_components_are_orphans_and_deregistering_is_exact():
    scaling = botocore.session.get_session().create_client(
        "application-autoscaling", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(scaling)
    targets = [
        _target("endpoint/gone/variant/AllTraffic", "a"),
        _target("endpoint/live/variant/AllTraffic", "b"),
        _target("inference-component/gone-ic", "c"),
        _target("endpoint/theirs-gone/variant/AllTraffic", "d"),
    ]
    stubber.add_response("describe_scalable_targets", {"ScalableTargets": targets}, {"ServiceNamespace": "sagemaker"})
    ours = {"Tags": {"llm-engineering:managed-by": "llm-engineering"}}
    stubber.add_response("list_tags_for_resource", ours, {"ResourceARN": ARN + "a"})
    stubber.add_response("list_tags_for_resource", ours, {"ResourceARN": ARN + "c"})
    stubber.add_response("list_tags_for_resource", {"Tags": {}}, {"ResourceARN": ARN + "d"})
    stubber.add_response(
        "deregister_scalable_target",
        {},
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": "inference-component/gone-ic",
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        },
    )
    orphans = Orphans()
    with stubber:
        _scalable_targets(_Aws(scaling), orphans, {"live"}, set())
        assert [str(item) for item in orphans.found] == [
            "scalable target endpoint/gone/variant/AllTraffic",
            "scalable target inference-component/gone-ic",
        ]
        assert remove(_Aws(scaling), orphans.found[1])
    stubber.assert_no_pending_responses()
    assert isinstance(orphans.found[0], Orphan) and orphans.found[0].reason == "its endpoint is gone"
