"""llm_engineering: take an open LLM from the Hugging Face Hub to a SageMaker endpoint and back down."""

__version__ = "0.1.0"
"""Kept equal to pyproject.toml's version by a test: reading the package metadata instead would cost every
command ~60 ms at start-up (importlib.metadata), which the test client cannot afford."""

TOOL_NAME = "llm-engineering"
