"""llm_engineering: take an open LLM from the Hugging Face Hub to a SageMaker endpoint and back down."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("llm-engineering")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

TOOL_NAME = "llm-engineering"
