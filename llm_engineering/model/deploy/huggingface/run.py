"""The deploy step where the LLM Engineer's Handbook runs it (`poetry run python .../huggingface/run.py`).

The same script as `make deploy-inference-endpoint` (`llm_engineering/model/deploy/deploy.py`).
"""

from llm_engineering.cli import run
from llm_engineering.model.deploy.deploy import main

if __name__ == "__main__":
    run(main)
