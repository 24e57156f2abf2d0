"""The local AWS emulator: moto's server plus the SageMaker hosting pieces moto lacks and an emulated TGI.

`make demo` and the end-to-end tests run the real workflow against it; only `AWS_ENDPOINT_URL` and
dummy credentials differ from AWS. Start it with `python -m llm_engineering.local` or `Emulator()`.
"""

from llm_engineering.local.faults import EmulatorConfig
from llm_engineering.local.server import Emulator, EmulatorError, configure, get_config, reset

__all__ = ["Emulator", "EmulatorConfig", "EmulatorError", "configure", "get_config", "reset"]
