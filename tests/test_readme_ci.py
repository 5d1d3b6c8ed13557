"""CI runs exactly what README.md's quick start tells users to run."""

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "README.md's quick start has no ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_has_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "symcomp demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_quick_start_verbatim():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    for command in quick_start_commands():
        assert command in ci
