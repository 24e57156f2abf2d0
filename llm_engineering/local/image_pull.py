"""Whether SageMaker may pull a model's image, decided as IAM decides for the execution role.

SageMaker pulls the container image from Amazon ECR as the model's execution role (SageMaker Developer Guide,
"How to use SageMaker AI execution roles": the role needs `ecr:GetAuthorizationToken`, which takes no
resource, and `ecr:BatchGetImage`, `ecr:GetDownloadUrlForLayer` and `ecr:BatchCheckLayerAvailability` on the
image's repository, `arn:<partition>:ecr:<region>:<account>:repository/<name>` in the Service Authorization
Reference). CreateModel is refused when the role exists and its identity policies (and boundary) do not allow
those, evaluated by the emulator's own IAM evaluation (`local/iam_simulation.py`). A repository policy of the
image's account is not modelled: the Deep Learning Containers' repositories let every account pull, and the
emulator has no other account's registry. A missing role is not this check's matter. The message is the
emulator's wording: SageMaker's exact text could not be verified here.
"""

from __future__ import annotations

import re
from typing import Any

from llm_engineering.local.iam_simulation import decide, principal_sources
from llm_engineering.local.protocol import AwsError, validation_exception

ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repository>[a-z0-9._/-]+)[:@]"
)
PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def refused_actions(role_arn: str, image: str, region: str) -> list[str] | None:
    """The pull actions the role may not take on the image's repository; None when the rule does not apply (no
    ECR image, no such role)."""
    found = ECR_IMAGE.match(image)
    if found is None:
        return None
    try:
        sources, boundary = principal_sources(role_arn, [])
    except AwsError:  # not a role ARN, or no such role
        return None
    partition = role_arn.split(":")[1]
    repository = f"arn:{partition}:ecr:{found['region']}:{found['account']}:repository/{found['repository']}"
    context = {
        "aws:principalarn": [role_arn],
        "aws:principalaccount": [role_arn.split(":")[4]],
        "aws:principaltype": ["AssumedRole"],
        "aws:requestedregion": [region],
        "aws:securetransport": ["true"],
    }
    wanted = [("ecr:GetAuthorizationToken", "*"), *((action, repository) for action in PULL_ACTIONS)]
    return [
        action
        for action, resource in wanted
        if decide(sources, boundary, action, resource, context)[0].decision != "allowed"
    ]


def check_create_model(params: dict[str, Any], region: str) -> None:
    """CreateModel's refusal of an image the execution role may not pull."""
    role = params.get("ExecutionRoleArn", "")
    for container in [params.get("PrimaryContainer") or {}, *(params.get("Containers") or [])]:
        image = container.get("Image", "")
        refused = refused_actions(role, image, region)
        if refused:
            raise validation_exception(
                f"The execution role {role} may not pull the image {image}: {', '.join(refused)} not allowed on "
                "its repository. Grant the role ECR pull on that repository."
            )
