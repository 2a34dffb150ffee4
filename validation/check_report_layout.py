"""Render the kernel-comparison example's study report in headless Chromium and check its layout.

Checks, at a 1200-px window: the page does not scroll sideways, every table
fits its box without scrolling, every image is embedded (a data URI) and
decoded; at a 600-px window: the page still does not scroll sideways (wide
tables scroll inside their own box). Writes a screenshot of the 1200-px view.

Not collected by pytest (it needs a browser, which a fresh machine lacks);
``.ci/run`` installs Debian's ``chromium`` and runs it after the test suite.

Run: ``python validation/check_report_layout.py [--report report.html] [--subjects 6] [--keep DIR]``;
without ``--report`` it makes the example cohort (1.5 mm phantoms) in a temporary folder, runs
``examples/kernel_comparison/study.yaml`` on it and writes its report first. Exit code 0 when every check
passes, 1 when one fails, 2 when no Chromium is found (``CHROMIUM`` names the binary).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kernel_comparison"

# Appended to a copy of the report: measures the rendered page and writes the result into the DOM.
_PROBE = """<script>
window.addEventListener("load", () => {
  const w = window.innerWidth, root = document.documentElement;
  const boxes = [...document.querySelectorAll(".tbl")];
  const imgs = [...document.images];
  const wide = boxes.filter(b => b.scrollWidth > b.clientWidth + 1)
                    .map(b => (b.previousElementSibling || b.parentElement).textContent.slice(0, 60));
  const out = {width: w, page_scroll_width: root.scrollWidth, tables: boxes.length, tables_scrolling: wide,
               images: imgs.length, images_not_embedded: imgs.filter(i => !i.src.startsWith("data:")).length,
               images_not_decoded: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length};
  const pre = document.createElement("pre"); pre.id = "vertfem-layout"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str | None:
    """The Chromium/Chrome binary: $CHROMIUM, or the first of the usual names on the PATH."""
    names = [os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome", "chrome"]
    return next((shutil.which(n) for n in names if n and shutil.which(n)), None)


def measure(browser: str, report: Path, width: int, *, screenshot: Path | None = None) -> dict:
    """Load the report in a ``width``-px window and return the probe's measurements."""
    with tempfile.TemporaryDirectory() as d:
        page = Path(d) / "report.html"
        page.write_text(report.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--window-size={width},1000", "--virtual-time-budget=20000"]
        dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
        m = re.search(r'<pre id="vertfem-layout">(.*?)</pre>', dom.stdout, re.S)
        if not m:
            raise RuntimeError(f"Chromium returned no measurement (exit {dom.returncode}): {dom.stderr[-500:]}")
        if screenshot is not None:
            subprocess.run([*base, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, timeout=180)
        return json.loads(m.group(1).replace("&quot;", '"'))


def problems(m: dict, *, tables_must_fit: bool) -> list[str]:
    """What the measurements show to be wrong."""
    out = []
    if m["page_scroll_width"] > m["width"]:
        out.append(f"the page is {m['page_scroll_width']} px wide in a {m['width']}-px window")
    if tables_must_fit and m["tables_scrolling"]:
        out.append(f"tables wider than the window: {m['tables_scrolling']}")
    if m["images_not_embedded"]:
        out.append(f"{m['images_not_embedded']} images are links, not embedded")
    if m["images_not_decoded"]:
        out.append(f"{m['images_not_decoded']} images did not decode")
    return out


def example_report(root: Path, n_subjects: int) -> Path:
    """Make the example cohort, run the example study on it and write its report."""
    sys.path.insert(0, str(EXAMPLE))
    from make_cohort import make_cohort

    from vertfem.study import run_study, write_report

    shutil.copy(EXAMPLE / "study.yaml", root / "study.yaml")
    t = time.perf_counter()
    make_cohort(n_subjects, 1.5, root)
    print(f"cohort: {n_subjects} subjects × 2 kernels in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    run = run_study(root / "study.yaml")
    print(f"study: {run.done} done, {run.failed} failed in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    path = write_report(root / "study.yaml")
    print(f"report: {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t:.0f} s")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", type=Path, default=None, help="check this report instead of the example's")
    ap.add_argument("--subjects", type=int, default=6, help="example cohort size (default 6)")
    ap.add_argument("--keep", type=Path, default=None, help="copy the report and the screenshot here")
    args = ap.parse_args()
    browser = chromium()
    if browser is None:
        print("no Chromium found (apt-get install chromium, or set CHROMIUM)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        report = args.report or example_report(Path(d), args.subjects)
        shot = Path(d) / "report_1200px.png"
        failures = []
        for width, must_fit in ((1200, True), (600, False)):
            m = measure(browser, report, width, screenshot=shot if width == 1200 else None)
            found = problems(m, tables_must_fit=must_fit)
            print(f"{width} px: page {m['page_scroll_width']} px wide, {m['tables']} tables "
                  f"({len(m['tables_scrolling'])} scrolling inside their box), {m['images']} images "
                  f"({m['images_not_embedded']} not embedded, {m['images_not_decoded']} not decoded)"
                  + (": " + "; ".join(found) if found else ": ok"))
            failures += found
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(report, args.keep / "report.html")
            if shot.exists():
                shutil.copy(shot, args.keep / shot.name)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
