"""The staged-weights settings, turned once into what each consumer uses.

- `StageSpec`: what `make stage-model` copies, from where, to where.
- `WeightsSource`: where a deploy loads the weights from (None: the Hub), before AWS is asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from llm_engineering.catalogue.s3 import S3Location, model_root
from llm_engineering.errors import ConfigurationError
from llm_engineering.settings import Settings


@dataclass(frozen=True)
class WeightsSource:
    """A deploy from S3: an exact stage (MODEL_S3_URI), or the stage of the model found in a bucket."""

    location: S3Location | None
    bucket: str
    model_id: str
    revision: str | None

    @property
    def setting(self) -> str:
        """The setting a user fixes when this source is wrong."""
        return "MODEL_S3_URI" if self.location else "MODEL_S3_BUCKET"

    @property
    def described(self) -> str:
        if self.location:
            return f"MODEL_S3_URI={self.location.uri}"
        return f"MODEL_SOURCE=s3 (the stage of {self.model_id} in s3://{self.bucket}/{model_root(self.model_id)})"

    @classmethod
    def from_settings(cls, settings: Settings) -> WeightsSource | None:
        if not settings.weights_from_s3:
            return None
        location = settings.staged_location
        bucket = location.bucket if location else settings.model_s3_bucket
        assert bucket is not None  # the settings' own check
        return cls(location, bucket, settings.hf_model_id, settings.hf_model_revision)


@dataclass(frozen=True)
class StageSpec:
    """`make stage-model`: HF_MODEL_ID at HF_MODEL_REVISION into MODEL_S3_URI, or MODEL_S3_BUCKET's default."""

    model_id: str
    revision: str | None
    token: SecretStr | None
    trust_remote_code: bool
    bucket: str
    location: S3Location | None
    """MODEL_S3_URI when set; None: the default prefix, once the commit is known."""
    kms_key_id: str | None = None
    """KMS_KEY_ID: every object is written with SSE-KMS under that key (None: the bucket's default)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> StageSpec:
        location = settings.staged_location
        bucket = location.bucket if location else settings.model_s3_bucket
        if bucket is None:
            raise ConfigurationError(
                "make stage-model needs MODEL_S3_BUCKET (the prefix then defaults to models/<owner>--<name>/<commit>/) "
                "or MODEL_S3_URI=s3://bucket/prefix/: set one in .env or the environment."
            )
        return cls(
            model_id=settings.hf_model_id,
            revision=settings.hf_model_revision,
            token=settings.huggingface_access_token,
            trust_remote_code=settings.hf_model_trust_remote_code,
            bucket=bucket,
            location=location,
            kms_key_id=settings.kms_key_id,
        )
