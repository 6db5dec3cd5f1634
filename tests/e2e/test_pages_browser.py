"""The timeline and fleet pages in a real browser: Debian's headless Chromium driven by Playwright.

Against the same stack `make serve` runs (sandbox + engine + HTTP front) with a finished demo
cycle: the DOM has a row per node and a bar per step with the API's durations, the nodes-out lane
never goes above the budget, the console stays clean and the page loads nothing from anywhere
else. Screenshots go to the test's tmp_path (and to $REBOOTER_SCREENSHOTS_DIR when set, which is
how docs/*.png are made). Without Chromium (`apt-get install -y chromium`) the tests are skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("REBOOTER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (see README, Tests)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        # Debian's Chromium, never a downloaded build (no `playwright install`).
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Page:
    """A page with its console errors, uncaught exceptions and every request it made."""

    def __init__(self, browser, base_url: str) -> None:
        self.page = browser.new_page(viewport={"width": 900, "height": 700})
        self.base = base_url
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        assert response.headers["content-type"].startswith("text/html")

    def shot(self, tmp_path: Path, name: str) -> Path:
        path = tmp_path / name
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        keep = os.environ.get("REBOOTER_SCREENSHOTS_DIR")
        if keep:
            shutil.copy(path, Path(keep) / name)
        return path

    def clean(self) -> None:
        assert self.errors == [], f"console errors: {self.errors}"
        assert all(u.startswith(self.base) for u in self.requests), f"left the local server: {self.requests}"


def finished_demo(stack_for):
    stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2")
    started = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "browser"})
    assert started.status_code == 202, started.text
    status = stack.api.wait(started.json()["id"])
    assert status["output"]["outcome"] == "completed"
    return stack, status


def test_timeline_page_in_chromium(stack_for, browser, tmp_path):
    stack, status = finished_demo(stack_for)
    output = status["output"]
    assert status["timelineUrl"].startswith(stack.base_url)
    view = Page(browser, stack.base_url)
    view.open(status["timelineUrl"])
    page = view.page

    rows = page.locator("g.node-row")
    assert rows.count() == len(output["nodes"]) >= 2
    for node in output["nodes"]:
        row = page.locator(f'g.node-row[data-node="{node["node"]}"]')
        assert row.count() == 1 and row.get_attribute("data-result") == node["result"]
        bars = row.locator("rect.bar")
        drawn = [(bars.nth(i).get_attribute("data-step"), float(bars.nth(i).get_attribute("data-seconds")),
                  bars.nth(i).get_attribute("data-state")) for i in range(bars.count())]
        assert [d[0] for d in drawn] == ["lock", "cordon", "drain", "reboot", "wait healthy", "uncordon"]
        for (step, seconds, state), api_step in zip(drawn, node["steps"], strict=True):
            assert step == api_step["step"] and seconds == pytest.approx(api_step["seconds"], abs=0.001)
            assert state == "ok"
        # Bars are laid out on the time axis: each step starts at or after the previous one.
        xs = [float(bars.nth(i).get_attribute("x")) for i in range(bars.count())]
        assert xs == sorted(xs)

    lane = page.locator("g.lane")
    budget = int(lane.get_attribute("data-budget"))
    assert budget == 2
    counts = [int(c) for c in lane.locator("rect.out").evaluate_all("els => els.map(e => e.dataset.count)")]
    assert counts and max(counts) <= budget
    assert max(counts) == 2  # the operator's cordoned node plus ours, one at a time
    assert page.locator("rect.out.over").count() == 0

    skipped = page.locator("table.nodes tr.node-reason").all_inner_texts()
    assert any("someone else" in text for text in skipped)
    assert any("win" in text for text in page.locator("table.pools tr.pool-reason").all_inner_texts())
    assert page.locator('meta[http-equiv="refresh"]').count() == 0  # finished: no more refresh
    view.shot(tmp_path, "timeline.png")
    view.clean()


def test_fleet_page_in_chromium(stack_for, browser, tmp_path):
    stack, status = finished_demo(stack_for)
    fleet = stack.api.get("clusters").json()
    assert fleet["count"] == 1
    view = Page(browser, stack.base_url)
    view.open(f"{stack.base_url}/api/clusters?format=html")
    page = view.page
    rows = page.locator("tr.cluster")
    assert rows.count() == 1
    row = rows.first
    assert row.get_attribute("data-cluster") == stack.sandbox.cluster_resource_id
    assert "Unmanaged" in row.inner_text()
    assert "completed" in row.locator("td.last-cycle").inner_text()
    pending = fleet["clusters"][0]["pendingReboot"]
    # The operator's cordoned node still needs its reboot; the two patched ones do not any more.
    assert pending["nodes"] == sorted(n.name for n in stack.sandbox.scenario.nodes if n.cordoned_by)
    assert all(n in row.locator("td.pending-reboot").inner_text() for n in pending["nodes"])
    assert row.locator("td.lock").inner_text() == "free"
    assert row.locator("td.next-run").inner_text() == fleet["clusters"][0]["nextTimerRun"][:19]
    view.shot(tmp_path, "fleet.png")

    row.locator("a.timeline").click()
    page.wait_for_load_state("load")
    assert page.locator("g.node-row").count() == len(status["output"]["nodes"])
    view.clean()


def test_timeline_refreshes_while_the_cycle_runs(stack_for, browser):
    stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2", REBOOTER_APPROVAL="first")
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "live"}).json()["id"]
    stack.api.until(instance, lambda s: (s.get("customStatus") or {}).get("step") == "awaiting approval")
    view = Page(browser, stack.base_url)
    view.open(stack.api.status(instance)["timelineUrl"])
    # One evaluation, so the page's own reload (every few seconds) cannot split the reads.
    seen = view.page.evaluate("""() => ({
        refresh: document.querySelectorAll('meta[http-equiv="refresh"]').length,
        state: document.getElementById('state').textContent,
        rows: document.querySelectorAll('g.node-row').length,
        bars: document.querySelectorAll('rect.bar').length})""")
    # Planned, not started yet: a row per planned node, no bar; the page reloads itself.
    assert seen == {"refresh": 1, "state": "Running", "rows": 2, "bars": 0}
    view.clean()
    assert stack.api.command(instance, "reject", by="lead").status_code == 202
    stack.api.wait(instance)
