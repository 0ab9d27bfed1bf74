"""The teaching notebooks are committed with their outputs, and those outputs are never
stale: each notebook runs from a fresh kernel without an error and prints, cell by cell,
the text it was committed with. Its charts are committed too (visible without running),
and it ends with what to notice and two exercises.
"""

from __future__ import annotations

import copy
import difflib
import re
import sys
import time
from pathlib import Path

import nbclient
import nbformat
import pytest

# Refresh outputs with the test's settings: python tests/test_notebooks.py [NOTEBOOK ...]
FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
CELL_TIMEOUT = 300
"""Seconds a cell may run before the kernel is stopped (a notebook should take well under
a minute in all)."""
DIFF_LINES = 12
"""Lines of each stale cell's diff shown in a failure."""


def execute(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` run from top to bottom in a fresh ``python3`` kernel whose
    working folder is ``notebooks/``; raises ``nbclient.exceptions.CellExecutionError`` at
    the first cell that raises."""
    fresh = copy.deepcopy(notebook)
    nbclient.NotebookClient(fresh, timeout=CELL_TIMEOUT, kernel_name="python3",
                            record_timing=False,
                            resources={"metadata": {"path": str(FOLDER)}}).execute()
    return fresh


def text_output(cell: nbformat.NotebookNode) -> str:
    """What a code cell printed, as text: each stream's text (joined, as a kernel may split
    it into several messages), then the text/plain of each result and display, in order.
    Images and execution counts are left out."""
    streams: dict[str, str] = {}
    shown: list[str] = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            streams[output["name"]] = streams.get(output["name"], "") + output["text"]
        elif output["output_type"] in ("execute_result", "display_data"):
            shown.append(output.get("data", {}).get("text/plain", ""))
        elif output["output_type"] == "error":
            shown.append(f"{output['ename']}: {output['evalue']}")
    parts = [f"[{name}]\n{text}" for name, text in sorted(streams.items())] + shown
    return "\n".join(parts)


def stale_cells(committed: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[str]:
    """One entry per code cell whose committed text output differs from the fresh run's:
    the cell's number, its first line and a short diff."""
    stale = []
    for number, (old, new) in enumerate(zip(committed.cells, fresh.cells, strict=True)):
        if old.cell_type != "code":
            continue
        before, after = text_output(old), text_output(new)
        if before == after:
            continue
        diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                         "committed", "fresh run", n=1, lineterm=""))
        if len(diff) > DIFF_LINES:
            diff = [*diff[:DIFF_LINES], f"... ({len(diff) - DIFF_LINES} more diff lines)"]
        first_line = old.source.splitlines()[0] if old.source else ""
        stale.append(f"cell {number} ({first_line!r}):\n" + "\n".join(diff))
    return stale


def sections(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The markdown after the last code cell, by heading: {heading text: body}."""
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    after = notebook.cells[code[-1] + 1:] if code else notebook.cells
    text = "\n\n".join(cell.source for cell in after if cell.cell_type == "markdown")
    found: dict[str, str] = {}
    heading = None
    for line in text.splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*$", line)
        if match:
            heading = match.group(1)
            found[heading] = ""
        elif heading is not None:
            found[heading] += line + "\n"
    return found


def exercises(body: str) -> list[str]:
    """The top-level list items of a section (numbered or bulleted)."""
    return re.findall(r"^(?:\d+[.)]|[-*])\s+(.*)$", body, flags=re.M)


def relative(path: Path) -> str:
    return str(path.relative_to(FOLDER.parent))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_are_those_of_a_fresh_run(path):
    """Run from a fresh kernel, every code cell prints the text it was committed with:
    stream text and the text/plain of results and displays, cell by cell. An error in any
    cell fails the test too."""
    committed = nbformat.read(path, as_version=4)
    try:
        fresh = execute(committed)
    except nbclient.exceptions.CellExecutionError as error:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error))   # without the terminal colours
        pytest.fail(f"{relative(path)}: a cell raised an error\n{plain}", pytrace=False)
    stale = stale_cells(committed, fresh)
    if stale:
        pytest.fail(f"{relative(path)}: the committed outputs of {len(stale)} cell(s) are not "
                    f"what a fresh run prints; refresh them with `python "
                    f"tests/test_notebooks.py {relative(path)}`\n\n" + "\n\n".join(stale),
                    pytrace=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_shows_a_chart(path):
    """The committed notebook holds at least one chart (a PNG output), so that its charts
    can be seen without running it."""
    notebook = nbformat.read(path, as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), (
        f"{relative(path)}: no chart in the committed outputs (run "
        f"`python tests/test_notebooks.py {relative(path)}` after adding one)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_what_to_notice_and_two_exercises(path):
    """After its last code cell, a notebook has a "What to notice" section and then an
    "Exercises" section listing exactly two exercises as top-level list items."""
    found = sections(nbformat.read(path, as_version=4))
    headings = list(found)
    notice = [h for h in headings if h.lower().startswith("what to notice")]
    tasks = [h for h in headings if h.lower().startswith("exercises")]
    assert notice, f"{relative(path)}: no 'What to notice' section after the last code cell"
    assert tasks, f"{relative(path)}: no 'Exercises' section after the last code cell"
    assert headings.index(notice[0]) < headings.index(tasks[0]), (
        f"{relative(path)}: 'What to notice' must come before 'Exercises'")
    listed = exercises(found[tasks[0]])
    assert len(listed) == 2, (
        f"{relative(path)}: 'Exercises' lists {len(listed)} exercise(s) as top-level list "
        f"items, not 2")


def refresh(paths: list[Path]) -> None:
    """Run each notebook as the test does and write it back with its outputs."""
    for path in paths:
        start = time.perf_counter()
        fresh = execute(nbformat.read(path, as_version=4))
        nbformat.write(fresh, path)
        print(f"{relative(path)}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    refresh([Path(arg).resolve() for arg in sys.argv[1:]] or NOTEBOOKS)
