"""`make demo`'s environment: the demo learns the tool's setting names from `.env.example`, not from the tool's
code; checked here against the names the tool itself reads."""

from __future__ import annotations

from llm_engineering.local.demo import ENV_FILE_VARIABLE, demo_environment
from llm_engineering.settings import ENV_FILE_VARIABLE as TOOLS_ENV_FILE_VARIABLE
from llm_engineering.settings import setting_names


def test_no_setting_of_the_caller_reaches_the_steps(monkeypatch, tmp_path):
    for name in [*setting_names(), "ENV", "LLM_ENGINEERING_ENV", ENV_FILE_VARIABLE]:
        monkeypatch.setenv(name, "from-the-caller")
    env = demo_environment("http://127.0.0.1:1", tmp_path)
    assert {name for name, value in env.items() if value == "from-the-caller"} == set()
    assert env[ENV_FILE_VARIABLE] == str(tmp_path / "demo.env")


def test_the_demo_points_the_tool_at_its_own_settings_file():
    assert ENV_FILE_VARIABLE == TOOLS_ENV_FILE_VARIABLE  # else the developer's own .env would be read
