"""A written map as PNG or PDF, through headless Chromium (Playwright drives Debian's).

The page opens from a file with its assets beside it, every request off the machine
refused; it is printed with the print stylesheet (no layer control, search or scenario
panel; title, data date, legend, scale bar and north arrow stay).
"""

from __future__ import annotations

from pathlib import Path

from gridsvc.common.browser import launch_chromium

# Every GeoJSON layer and marker cluster is drawn once the page's scripts have run; two
# animation frames later it is on the screen.
DRAWN = """async () => {
    while (!window.L || !Object.values(window).some((v) => v instanceof L.Map)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}"""


def export_page(page: Path, out: Path, width: int = 1600, height: int = 1000) -> Path:
    """Write ``page`` (an HTML map beside its ``static/``) to ``out``: .png or .pdf.

    Raises
    ------
    ValueError
        If ``out`` is neither .png nor .pdf, or Playwright or chromium is missing.
    """
    kind = out.suffix.lower()
    if kind not in (".png", ".pdf"):
        raise ValueError(f"export to .png or .pdf, not '{out.suffix or out.name}'")
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": width, "height": height})
        tab = context.new_page()
        tab.route(
            "**/*",
            lambda route, request: (
                route.continue_() if request.url.startswith(("file:", "data:")) else route.abort()
            ),
        )
        tab.emulate_media(media="print")
        tab.goto(page.resolve().as_uri(), wait_until="load", timeout=300_000)
        tab.evaluate(DRAWN)
        if kind == ".png":
            tab.screenshot(path=str(out))
        else:
            tab.pdf(
                path=str(out),
                width=f"{width}px",
                height=f"{height}px",
                print_background=True,
                page_ranges="1",
            )
    return out
