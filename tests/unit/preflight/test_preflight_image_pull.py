"""The execution role is judged against the image actually deployed: an IMAGE_URI in another account's registry
is a blocked row until the role may pull from that repository, and one in another region is refused outright
(SageMaker pulls from the endpoint's region only)."""

from __future__ import annotations

import pytest
from preflight_world import ROLE, ROLE_ARN
from test_preflight_role_access import IDENTITY

from llm_engineering.aws import connect
from llm_engineering.catalogue.engines import TGI
from llm_engineering.catalogue.images import engine_image, repository_arn
from llm_engineering.errors import ConfigurationError
from llm_engineering.iam import ExecutionRoleSpec, ensure_execution_role
from llm_engineering.preflight.role import RoleRef, check_execution_role

FOREIGN = "111122223333.dkr.ecr.us-east-1.amazonaws.com/team/tgi-custom:3.3.6"
REPOSITORY = "arn:aws:ecr:us-east-1:111122223333:repository/team/tgi-custom"
DLC = engine_image(TGI, "us-east-1", "ml.g5.2xlarge").uri


def row_for(image_uri: str):
    return check_execution_role(connect("us-east-1"), RoleRef.of(ROLE, None), IDENTITY, None, image_uri)[0]


def test_the_repository_of_an_image_is_named(moto_aws):
    assert repository_arn(FOREIGN, "aws") == REPOSITORY
    assert repository_arn("docker.io/library/tgi:1", "aws") is None


def test_a_role_made_for_the_engines_images_may_not_pull_another_accounts_image(answers, execution_role):
    row = row_for(FOREIGN)
    assert row.status == "blocked"
    assert row.evidence.startswith(
        f"{ROLE_ARN}: it cannot pull the image from ECR: ecr:BatchCheckLayerAvailability, ecr:BatchGetImage, "
        f"ecr:GetDownloadUrlForLayer not allowed on {REPOSITORY} (only on other repositories)"
    )
    assert row.fix.startswith("make create-sagemaker-execution-role with this IMAGE_URI set")
    ok = row_for(DLC)
    assert ok.status == "ok" and "allows ECR image pull from arn:aws:ecr:us-east-1:763104351884:repository/" in (
        ok.evidence
    )


def test_the_role_made_with_image_uri_may_pull_it(answers, moto_aws):
    ensure_execution_role(connect("us-east-1"), ExecutionRoleSpec(name=ROLE, image_uri=FOREIGN))
    row = row_for(FOREIGN)
    assert row.status == "ok"
    trusted = f"{ROLE_ARN}: trusted by sagemaker.amazonaws.com"
    assert row.evidence.startswith(f"{trusted}; allows ECR image pull from {REPOSITORY}")


def test_an_image_in_another_regions_registry_is_refused_before_any_call():
    other = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/tgi-custom:3.3.6"
    with pytest.raises(ConfigurationError) as refused:
        engine_image(TGI, "us-east-1", "ml.g5.2xlarge", override=other)
    assert str(refused.value).startswith(
        f"IMAGE_URI={other!r} is in the ECR registry of eu-west-1, but the endpoint is in us-east-1: SageMaker pulls "
        "images from the endpoint's region only"
    )
