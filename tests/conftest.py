"""Shared fixtures: scenario files with one mistake each, for the bad-input tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "base.yaml"
MARK = "# <-"
"""Put at the end of the line an error must point at (a YAML comment, so harmless)."""

# The gsp strategy's staffing line in the shipped base, marked: an error about a key that a
# what-if file inherits must point into the file where that key stands.
_GSP_STAFFING = "    staffing: &staff\n"
_BASE_WITH_MARK = BASE.read_text(encoding="utf-8").replace(
    _GSP_STAFFING, _GSP_STAFFING.replace("\n", f"  {MARK}\n", 1), 1)

# id: (files to write, name -> text with {base} for the shipped base.yaml; the file to
# load; dotted key path the error must name; fragment its message must contain).
# The error must name the file and line that carry MARK, or the loaded file and no line.
BAD_FILES: dict[str, tuple[dict[str, str], str, str, str]] = {
    "unknown key": ({"bad.yaml": """\
extends: {base}
market:
  segments:
    affluent:
      shre: 0.2  # <-
"""}, "bad.yaml", "market.segments.affluent.shre", "did you mean 'share'"),
    "wrong type": ({"bad.yaml": """\
extends: {base}
market:
  population: many  # <-
"""}, "bad.yaml", "market.population", "should be a whole number (got 'many')"),
    "boolean for a number": ({"bad.yaml": """\
extends: {base}
market:
  population: yes  # <-
"""}, "bad.yaml", "market.population", "should be a whole number"),
    "probability above 1": ({"bad.yaml": """\
extends: {base}
market:
  segments:
    mainstream:
      contact_rate: 1.5  # <-
"""}, "bad.yaml", "market.segments.mainstream.contact_rate", "at most 1 (got 1.5)"),
    "negative price": ({"bad.yaml": """\
extends: {base}
propositions:
  basic:
    price: -3  # <-
"""}, "bad.yaml", "propositions.basic.price", "at least 0 (got -3)"),
    "not a number": ({"bad.yaml": """\
extends: {base}
channels:
  online:
    quality: .nan  # <-
"""}, "bad.yaml", "channels.online.quality", "finite number"),
    "shares do not sum to 1": ({"bad.yaml": """\
extends: {base}
market:
  segments:  # <-
    affluent:
      share: 0.3
"""}, "bad.yaml", "market.segments", "sum to 1.1, not 1"),
    "unknown proposition": ({"bad.yaml": """\
extends: {base}
strategies:
  gsp:
    proposition: standrd  # <-
"""}, "bad.yaml", "strategies.gsp.proposition", "did you mean 'standard'"),
    "unknown channel in staffing": ({"bad.yaml": """\
extends: {base}
strategies:
  segmented:
    staffing:
      brnch: 2  # <-
"""}, "bad.yaml", "strategies.segmented.staffing.brnch", "did you mean 'branch'"),
    "unknown stage": ({"bad.yaml": """\
extends: {base}
behaviour:
  churn:
    stage_multipliers:
      growht: 1.2  # <-
"""}, "bad.yaml", "behaviour.churn.stage_multipliers.growht", "did you mean 'growth'"),
    "none of a union's forms": ({"bad.yaml": """\
extends: {base}
strategies:
  segmented:
    propositions: 5  # <-
"""}, "bad.yaml", "strategies.segmented.propositions", "'best_fit' or a mapping"),
    "unknown segment in a competitor move": ({"bad.yaml": """\
extends: {base}
market:
  competitor_moves:
    - from_month: 24
      utility_change: 0.4
      segments:
        - afluent  # <-
"""}, "bad.yaml", "market.competitor_moves.0.segments.0", "did you mean 'affluent'"),
    "error in an inherited key": ({"base.yaml": _BASE_WITH_MARK, "bad.yaml": """\
extends: base.yaml
channels:
  video:
    human: true
    cost_per_contact: 2.0
    quality: 0.5
"""}, "bad.yaml", "strategies.gsp.staffing", "no staffing for human channel 'video'"),
    "extends cycle": ({
        "a.yaml": "name: a\nextends: b.yaml\n",
        "b.yaml": "name: b\nextends: a.yaml  # <-\n",
    }, "a.yaml", "extends", "cycle"),
    "missing extended file": ({"bad.yaml": """\
name: orphan
extends: nowhere.yaml  # <-
"""}, "bad.yaml", "extends", "extended file not found"),
    "missing file": ({}, "absent.yaml", "", "file not found"),
    "YAML syntax error": ({"bad.yaml": """\
extends: {base}
market:
  population: 5: 6  # <-
"""}, "bad.yaml", "", "YAML syntax error"),
    "duplicate key": ({"bad.yaml": """\
extends: {base}
market:
  population: 5000
  initial_customers: 100
  population: 6000  # <-
"""}, "bad.yaml", "market.population", "duplicate key"),
    "not a mapping": ({"bad.yaml": "- market  # <-\n- propositions\n"}, "bad.yaml", "",
                      "must be a mapping"),
}


@dataclass(frozen=True)
class BadFile:
    """A scenario file with one mistake, and what the error about it must say."""

    path: Path
    """The file to load."""
    file: Path
    """The file the error must name."""
    line: int | None
    """The line the error must name, or None where no line applies."""
    key: str
    """The dotted key path the error must name ("" for the whole file)."""
    says: str
    """A fragment the message must contain."""

    @property
    def prefix(self) -> str:
        """The start of the error's text: ``FILE:LINE: key.path: ``."""
        where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return where + (f"{self.key}: " if self.key else "")


def _write(case: str, directory: Path) -> BadFile:
    files, load, key, says = BAD_FILES[case]
    file, line = directory / load, None
    for name, text in files.items():
        text = text.replace("{base}", str(BASE))
        (directory / name).write_text(text, encoding="utf-8")
        # Found by reading the text, independently of the loader's own line bookkeeping.
        marked = [i for i, row in enumerate(text.splitlines(), 1) if row.endswith(MARK)]
        if marked:
            assert len(marked) == 1, f"{name}: mark one line only"
            file, line = directory / name, marked[0]
    return BadFile(directory / load, file, line, key, says)


# The command line prints every ScenarioError the same way and each run spends a second
# importing: it is tried on one case of each kind of mistake, not on every case.
CLI_CASES = [case for case in BAD_FILES if case not in {
    "boolean for a number", "not a number", "unknown stage", "none of a union's forms",
    "error in an inherited key", "not a mapping"}]


@pytest.fixture(params=list(BAD_FILES), ids=list(BAD_FILES))
def bad_case(request) -> str:
    """The name of one case of :data:`BAD_FILES`."""
    return request.param


@pytest.fixture(params=CLI_CASES, ids=CLI_CASES)
def cli_bad_case(request) -> str:
    """The name of one case of :data:`CLI_CASES`."""
    return request.param


@pytest.fixture
def bad_file(bad_case, tmp_path) -> BadFile:
    """One case of :data:`BAD_FILES`, written to ``tmp_path``."""
    return _write(bad_case, tmp_path)


@pytest.fixture(scope="module")
def cli_bad_files(tmp_path_factory) -> dict[str, BadFile]:
    """Every case of :data:`CLI_CASES` by name, each written to a directory of its own."""
    return {case: _write(case, tmp_path_factory.mktemp("bad")) for case in CLI_CASES}
