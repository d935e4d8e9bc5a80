"""A person's view: the app served by ``streamlit run`` on 127.0.0.1, driven in Debian's Chromium.

One story, as a first-time user would go: build the example SAGAN, train it (tiny)
from the Train page, watch it finish, click a pixel on the Attention page, then look
at Samples, Compare and Plugins. Screenshots go to test-artifacts/app/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from ganparts.cli.app import find_app, streamlit_command
from ganparts.runs.jobs import child_env
from tests.conftest import ROOT, SPECS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "app"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def install_chromium() -> None:
    """Debian's Chromium via apt-get where this test runs as root (as CI does)."""
    if CHROMIUM.exists() or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        subprocess.run(install, env=env, capture_output=True, timeout=900)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed (dev extra)")
    install_chromium()
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium: {CHROMIUM} is missing and could not be installed with apt-get (needs root and a Debian package mirror)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    """``streamlit run apps/streamlit_app.py`` as ``ganparts app`` starts it, on a free port."""
    runs = tmp_path_factory.mktemp("browser-runs")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(runs.parent / "streamlit.log", "wb")
    server = subprocess.Popen(streamlit_command(find_app(), port=port), env=child_env(GANPARTS_RUNS=str(runs)),
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"streamlit did not come up: {(runs.parent / 'streamlit.log').read_text()[-2000:]}")
        time.sleep(0.3)
    yield url, runs
    server.terminate()
    server.wait(timeout=20)
    log.close()


def test_a_first_time_user_builds_trains_and_sees_where_a_pixel_attends(browser, served_app):
    from playwright.sync_api import expect

    # A wait limit, not a speed requirement: the first page loads torch and can take many
    # seconds on a busy 2-core machine, past Playwright's 5 s default.
    expect.set_options(timeout=60_000)
    url, runs = served_app
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 2000})
    page.set_default_timeout(30_000)

    def shot(name: str) -> None:
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # Streamlit scrolls inside the page: no full_page

    def go(title: str) -> None:
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()

    # Build: the example SAGAN is valid and its parameter counts show; a broken upload is
    # refused with the reason; a good one replaces the form (here: the SAGAN at width 16).
    page.goto(url)
    expect(page.get_by_role("heading", name="Build a GAN")).to_be_visible()
    expect(page.get_by_text("Generator parameters")).to_be_visible()
    expect(page.get_by_text("Valid: sagan-mnist")).to_be_visible()
    expect(page.get_by_role("button", name="Download spec")).to_be_visible()
    shot("1-build")
    uploads = runs.parent / "uploads"
    uploads.mkdir()
    (uploads / "broken.yaml").write_text("model: [\n")
    spec = yaml.safe_load((SPECS / "sagan_mnist.yaml").read_text())
    spec["name"] = "my-sagan"
    spec["model"]["generator"]["width"] = spec["model"]["discriminator"]["width"] = 16
    (uploads / "my-sagan.yaml").write_text(yaml.safe_dump(spec))
    page.locator("input[type=file]").first.set_input_files(uploads / "broken.yaml")
    expect(page.get_by_text("broken.yaml: invalid YAML at line 2")).to_be_visible()
    page.locator("input[type=file]").first.set_input_files(uploads / "my-sagan.yaml")
    expect(page.get_by_text("Valid: my-sagan")).to_be_visible()

    # Train: the Build page hands its spec over; a tiny run starts, finishes, shows its samples.
    page.get_by_role("button", name="Train this spec").click()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    steps = page.get_by_role("spinbutton", name="Steps")
    steps.fill("20")
    steps.press("Enter")
    batch = page.get_by_role("spinbutton", name="Batch size")
    batch.fill("16")
    batch.press("Enter")
    page.get_by_test_id("stSelectbox").filter(has_text="Data").click()
    page.get_by_role("option", name="mnist-5k").click()
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("finished")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Samples at step 20")).to_be_visible()
    assert (runs / "my-sagan" / "checkpoints" / "step_00000020").is_dir()
    shot("2-train")

    # Attention: click a pixel of the picture; the query follows the click.
    go("Attention")
    expect(page.get_by_text("where pixel (14, 9) attends")).to_be_visible()
    picture = page.get_by_test_id("stVegaLiteChart").first.locator("svg").first
    box = picture.bounding_box()
    cell = box["width"] / 28  # the picture is drawn one square per pixel
    x, y = box["x"] + 5.5 * cell, box["y"] + 20.5 * cell
    page.mouse.move(x, y)  # vega picks the mark under the pointer on move, then takes the click
    page.mouse.click(x, y)
    expect(page.get_by_text("where pixel (5, 20) attends")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart").last.locator("svg, canvas").first).to_be_visible()  # the gamma curve
    shot("3-attention")

    go("Samples")
    expect(page.get_by_text("64 digits, seed 0, step 20")).to_be_visible()
    expect(page.get_by_role("button", name="Download PNG").first).to_be_visible()
    shot("4-samples")

    go("Compare")
    expect(page.get_by_role("heading", name="Compare runs")).to_be_visible()
    expect(page.get_by_text("Spec differences")).to_be_visible()
    shot("5-compare")

    go("Plugins")
    expect(page.get_by_text(re.compile(r"^\d+ loaded, 0 failed$"))).to_be_visible()  # the table itself is a canvas
    shot("6-plugins")
