#!/usr/bin/env python3
"""The web map in a real browser (Debian's chromium, driven by Playwright): the map and the
shipped borders load; a bad scenario upload shows its problems by field; the quickstart
upload starts a run; tracks and a region alert appear. Writes map.png (and the bad-upload
screenshot) into $CANOPY_ARTIFACTS (default ci-artifacts/)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, TOKEN, Server  # noqa: E402
from playwright.sync_api import sync_playwright, expect  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OUT = os.environ.get("CANOPY_ARTIFACTS", os.path.join(ROOT, "ci-artifacts"))


def main():
    os.makedirs(OUT, exist_ok=True)
    server = Server("--speed", "100")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + "/")
            # The shipped regions are drawn (27 first-level units) with Leaflet from Debian.
            expect(page.locator("path.leaflet-interactive")).not_to_have_count(0, timeout=15000)
            assert page.evaluate("typeof L") == "object", "Leaflet did not load"

            # A bad scenario: the page lists the problems by field.
            page.click("#upload-toggle")
            bad = os.path.join(tempfile.mkdtemp(), "bad.yaml")
            with open(bad, "w") as f:
                f.write("name: bad\norigin: {lat: 50, lon: 30}\nfireUnits: 3\n")
            page.set_input_files("#scenario-file", bad)
            page.fill("#token", TOKEN)
            page.click("#upload-form button[type=submit]")
            expect(page.locator("#upload-result .problems code", has_text="fireUnits")).to_be_visible(timeout=10000)
            page.screenshot(path=os.path.join(OUT, "upload-errors.png"))

            # The quickstart: a run starts, tracks and a region alert appear.
            page.set_input_files("#scenario-file", os.path.join(ROOT, "examples", "quickstart.yaml"))
            page.fill("#speed", "100")
            page.click("#upload-form button[type=submit]")
            expect(page.locator("#upload-result .ok")).to_be_visible(timeout=10000)
            expect(page.locator("#run-status")).to_have_text("running", timeout=10000)
            # Tracks on the map and in the threat list, and a region on alert, at the same moment.
            page.wait_for_function("document.querySelectorAll('.track-icon').length > 0 && "
                                   "document.querySelectorAll('#threats tbody tr').length > 0 && "
                                   "document.querySelectorAll('#alerts li.on').length > 0", timeout=120000, polling=100)
            tracks = page.locator(".track-icon").count()
            alerts = page.locator("#alerts li.on").all_inner_texts()
            # The quickstart's two radars are drawn.
            radars = page.locator(".sensor-icon").count()
            assert radars == 2, f"{radars} radar symbols on the map, expected the quickstart's 2"
            # Fire units that would overlap are drawn as one marker ("n units"): no two markers
            # overlap, and every unit of the table is on the map, alone or in a group.
            overlaps = page.evaluate("""() => { const r = [...document.querySelectorAll('.unit-icon')].map((e) => e.getBoundingClientRect());
                let n = 0; for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
                  if (r[i].left < r[j].right && r[j].left < r[i].right && r[i].top < r[j].bottom && r[j].top < r[i].bottom) n++;
                return n; }""")
            drawn = page.evaluate("""() => [...document.querySelectorAll('.unit-icon')].reduce((a, e) =>
                a + (e.classList.contains('unit-group') ? parseInt(e.textContent) : 1), 0)""")
            listed = page.locator("#units tbody tr").count()
            assert overlaps == 0, f"{overlaps} pairs of fire-unit markers overlap"
            assert drawn == listed and listed > 0, f"{drawn} fire units on the map, {listed} in the table"
            shot = os.path.join(OUT, "map.png")
            page.screenshot(path=shot)
            print(f"browser: {tracks} track symbols, {radars} radars and {drawn} fire units in "
                  f"{page.locator('.unit-icon').count()} markers on the map; alerts: {alerts}")
            print(f"screenshot: {shot}")
            assert not errors, f"page errors: {errors}"
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
