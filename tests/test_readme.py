"""The README's two commands are the ones a newcomer and CI run."""

import re

from tests.conftest import REPO


def _quickstart_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    first_section = text.split("\n## ", 2)[1]
    return re.findall(r"^\s*\$?\s*(make \w+)\s*$", first_section, flags=re.M)


def test_readme_gives_exactly_two_commands_main_job_then_tests():
    assert _quickstart_commands() == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    test_command = _quickstart_commands()[1]
    assert any(line.strip() == test_command for line in ci.splitlines())


def test_make_targets_exist_and_set_up_first():
    makefile = (REPO / "Makefile").read_text()
    for target in ("demo", "test"):
        assert re.search(rf"^{target}: setup(-all)?\b", makefile, flags=re.M), target
