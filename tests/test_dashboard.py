"""``cvm dashboard`` end to end: bad input stops it with one message, and in a real browser
(headless Chromium driven by Playwright) the page renders its charts from this machine
alone, steps, and takes a typed seed.

Without Chromium, Playwright or the installed assets the browser test is skipped, saying
why; with ``CVM_REQUIRE_BROWSER=1`` (set by ``.ci/run``) it fails instead.

``python tests/test_dashboard.py`` regenerates ``docs/dashboard.png`` (the README's picture).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sim.assets import ASSETS, cdn_dir, missing

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
"""Flags that let headless Chromium run here as root, without reaching out by itself."""
CHARTS = 6
STARTUP_SECONDS = 90
"""Longest wait for the server to listen (it imports Solara and mesa.visualization)."""
WAIT_MS = 60_000
"""Longest wait for one thing on the page (2 shared cores also run the server)."""


def _cvm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False,
                          env=env)


def _one_error(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_the_command_line_and_the_engine_do_not_load_the_viz():
    """Solara and mesa.visualization take seconds to import: only the dashboard loads them."""
    code = ("import sys, sim, sim.cli, sim.live, sim.assets; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('solara', 'altair') "
            "or m.startswith('mesa.visualization')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_an_unknown_scenario_stops_with_a_message_naming_it():
    message = _one_error(_cvm("dashboard", "scenarios/no_such_file.yaml"))
    assert "scenarios/no_such_file.yaml" in message and "not found" in message


def test_missing_assets_stop_with_how_to_install_them(tmp_path):
    env = {**os.environ, "SOLARA_ASSETS_PROXY_CACHE_DIR": str(tmp_path)}
    message = _one_error(_cvm("dashboard", env=env))
    assert "cvm dashboard --install-assets" in message
    assert str(tmp_path) in message and "vega@5" in message


def test_a_port_out_of_range_is_bad_input():
    assert "--port: must be at most 65,535" in _one_error(_cvm("dashboard", "--port", "70000"))


# ------------------------------------------------------------------------------ the browser
def _browser_or_skip():
    """Playwright's sync API, or skip (fail under CVM_REQUIRE_BROWSER=1) saying what is
    missing."""
    problems = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problems.append("Playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    absent = missing(cdn_dir())
    if absent:
        problems.append("the dashboard's assets are missing (cvm dashboard --install-assets)")
    if problems:
        reason = "browser test: " + "; ".join(problems)
        if os.environ.get("CVM_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """``cvm dashboard ARGS`` on a free port of 127.0.0.1; yields its URL."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "dashboard", *args, "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"cvm dashboard exited {server.returncode}:\n"
                            f"{server.stdout.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"cvm dashboard did not listen within {STARTUP_SECONDS} s")
                time.sleep(0.2)   # polling for the port, not waiting for the page
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@contextmanager
def browser_page(sync_playwright, width: int = 1600, height: int = 1300,
                 evidence: Path | None = None):
    """A page of headless Chromium; if what runs in it fails, its screenshot and text go to
    ``evidence`` (a folder)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            yield page
        except Exception:
            if evidence is not None:
                page.screenshot(path=str(evidence / "failure.png"))
                (evidence / "failure.txt").write_text(page.inner_text("body"))
                print(f"the page at the failure: {evidence}/failure.png, failure.txt")
            raise
        finally:
            browser.close()


def month(page) -> int:
    return int(page.locator(".cvm-month").inner_text())


def step(page, times: int = 1) -> None:
    """Click Step and wait until the page shows the next month, ``times`` times."""
    for _ in range(times):
        shown = month(page)
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(
            "m => document.querySelector('.cvm-month')?.textContent === String(m)",
            arg=shown + 1, timeout=WAIT_MS)


CHARTS_DRAWN = """n => {
    const svgs = document.querySelectorAll('.vega-embed svg.marks');
    return svgs.length >= n && [...svgs].every(s => s.querySelector('path, line'));
}"""
CHART_MARKS = "() => [...document.querySelectorAll('.vega-embed svg.marks')]" \
              ".map(s => s.innerHTML).join('|')"


def test_the_page_renders_offline_steps_and_takes_a_typed_seed(tmp_path):
    sync_playwright = _browser_or_skip()
    with serving() as url, browser_page(sync_playwright, evidence=tmp_path) as page:
        requests: list[str] = []
        failed: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        page.goto(url)
        page.wait_for_selector(".cvm-month", timeout=WAIT_MS)
        assert month(page) == 0
        # Every lever is labelled with its scenario key, below SolaraViz's controls.
        for key in ("strategies.segmented.data_quality", "strategies.gsp.staffing.call_centre",
                    "strategies.segmented.budgets.retention", "market.needs_contrast"):
            assert page.get_by_text(key, exact=True).count() >= 1, key
        controls = page.get_by_text("Controls", exact=True).bounding_box()
        levers = page.get_by_text("Levers: gsp", exact=True).bounding_box()
        assert controls["y"] < levers["y"]

        step(page)
        page.wait_for_function(CHARTS_DRAWN, arg=CHARTS, timeout=WAIT_MS)
        first = page.evaluate(CHART_MARKS)
        step(page)
        # The charts redraw with the new month's data.
        page.wait_for_function(f"before => ({CHART_MARKS})() !== before", arg=first,
                               timeout=WAIT_MS)
        assert month(page) == 2

        page.get_by_role("button", name="a random one that left").click()
        page.wait_for_selector(".cvm-journey", timeout=WAIT_MS)

        # Play runs month after month until paused.
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(
            "() => Number(document.querySelector('.cvm-month')?.textContent) >= 4",
            timeout=WAIT_MS)
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="▶").wait_for(timeout=WAIT_MS)

        # A refused seed: a message naming the key; the comparison keeps running.
        seed = page.get_by_label("simulation.seed")
        seed.fill("seven")
        seed.press("Enter")
        problem = page.wait_for_selector(".cvm-problem", timeout=WAIT_MS).inner_text()
        assert "simulation.seed" in problem and "whole number" in problem
        assert "seed 20261122" in page.locator(".cvm-status").inner_text()
        assert month(page) >= 4
        assert "Traceback" not in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "dashboard.png"))

        # Reset starts the same comparison again from month 0.
        page.get_by_role("button", name="Reset").click()
        page.wait_for_selector(".cvm-month:text-is('0')", timeout=WAIT_MS)
        assert "seed 20261122" in page.locator(".cvm-status").inner_text()

        # Another scenario: its own strategies and levers.
        page.get_by_text("gsp_vs_segmented.yaml", exact=True).click()
        page.get_by_role("option", name="practices/channel_migration.yaml").click()
        page.wait_for_selector(".cvm-status:has-text('to_standard vs steered')",
                               timeout=WAIT_MS)
        page.get_by_text("strategies.steered.steering.share", exact=True).wait_for(
            timeout=WAIT_MS)
        assert page.locator(".cvm-problem").count() == 0

        # A typed seed, on a fresh page (what is typed into a field soon after an earlier
        # entry in it can be overwritten by the server's late echo of that entry).
        page.reload()
        page.wait_for_selector(".cvm-month", timeout=WAIT_MS)
        seed = page.get_by_label("simulation.seed")
        seed.fill("7")
        seed.press("Enter")
        page.wait_for_selector(".cvm-status:has-text('seed 7')", timeout=WAIT_MS)
        assert month(page) == 0
        assert page.locator(".cvm-problem").count() == 0

    port = urlsplit(url).netloc
    assert requests and all(urlsplit(r).netloc == port for r in requests if "://" in r), \
        sorted({urlsplit(r).netloc for r in requests})
    assert failed == []
    # Every asset the page loaded is one the installer puts in place.
    cdn = [urlsplit(r).path.split("/_solara/cdn/", 1)[1] for r in requests
           if "/_solara/cdn/" in r]
    assert cdn and all(any(path.startswith(a.folder + "/") for a in ASSETS) for path in cdn), \
        sorted(set(cdn))
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def screenshot(out: Path, months: int = 36) -> None:
    """Save the page of the headline comparison after ``months`` months to ``out`` (the
    README's picture)."""
    from playwright.sync_api import sync_playwright

    with serving() as url, browser_page(sync_playwright, 1600, 1500) as page:
        page.goto(url)
        page.wait_for_selector(".cvm-month", timeout=WAIT_MS)
        step(page, months)
        page.wait_for_function(CHARTS_DRAWN, arg=CHARTS, timeout=WAIT_MS)
        # No button left highlighted by the last click.
        page.mouse.move(0, 0)
        page.evaluate("document.activeElement.blur()")
        page.wait_for_function("() => !document.querySelector('.v-ripple__animation')")
        page.screenshot(path=str(out))


if __name__ == "__main__":
    target = ROOT / "docs" / "dashboard.png"
    screenshot(target)
    print(f"wrote {target}")
