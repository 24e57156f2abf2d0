"""The one status Enum holds every state SageMaker's service model knows, for endpoints and components."""

from __future__ import annotations

import botocore.session

from llm_engineering.statuses import COMPONENT_TRANSITIONAL, ENDPOINT_TRANSITIONAL, Status


def test_every_botocore_state_is_a_member_and_unknown_values_are_unknown():
    model = botocore.session.get_session().get_service_model("sagemaker")
    known = {member.value for member in Status}
    assert set(model.shape_for("EndpointStatus").enum) <= known
    assert set(model.shape_for("InferenceComponentStatus").enum) <= known
    assert known - set(model.shape_for("EndpointStatus").enum) == {"Deleted", "Unknown"}
    assert Status("SomethingNew") is Status.UNKNOWN
    assert COMPONENT_TRANSITIONAL <= ENDPOINT_TRANSITIONAL
    assert f"{Status.IN_SERVICE}" == "InService"
