"""The README's promises: its test command is what CI runs, its Python examples run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = [line for line in ci.splitlines() if "pytest" in line]
    assert len(command) == 1
    assert command[0].strip() in README


def test_readme_quick_start_has_exactly_two_commands():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"```bash\n", quick)) == 2
    assert "run_scenario.py scenarios/gsp_vs_segmented.yaml" in quick


def test_readme_python_examples_run(monkeypatch, tmp_path):
    # Run where the examples expect the repository, writing results under tmp_path.
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["customer"].stage in {"acquisition", "growth", "maturity", "decline",
                                           "departed", "prospect"}
