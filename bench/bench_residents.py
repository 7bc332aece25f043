"""The residents' report page on a phone: its weight, time to interactive on 3G, photo bytes.

Chromium (Debian's, headless, 390x844 phone) loads ``/report`` from the service run over a
database holding the demo city (the main one by default; read only). Measured:

- page weight: the HTML, scripts and styles of ``/report`` (what the page needs before any
  map tile or API answer), each gzipped at level 6 as a server or proxy would send them;
- time to interactive with the network throttled through the DevTools protocol
  (``Network.emulateNetworkConditions``), cold cache, until the page marks itself ready
  (``body[data-ready=true]``: categories drawn, the form usable); medians of ``--runs``;
- the bytes a 12-megapixel camera photo becomes when the page shrinks it before upload.

Run: ``.venv/bin/python bench/bench_residents.py [--runs 3] [--database gridsvc]``.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
from pathlib import Path

from bench_maps import guard_page, start_server
from common import print_machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridsvc.cluster.databases import database_url
from gridsvc.common.browser import launch_chromium
from gridsvc.config import get_settings
from tests.residents.photos import camera_photo

#: DevTools' presets: latency in ms, throughput in bytes/s.
PROFILES = {
    "Slow 3G (400 ms, 400 kbit/s)": (400, 400_000 / 8, 400_000 / 8),
    "Fast 3G (150 ms, 1.6 Mbit/s)": (150, 1_600_000 / 8, 750_000 / 8),
}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
PAGE_PARTS = ("document", "script", "stylesheet")
READY = "() => document.body && document.body.dataset.ready === 'true'"


def page_weight(browser, base: str, outside: list[str]) -> tuple[int, int, list[str]]:
    """Raw and gzipped bytes of the page's own HTML, scripts and styles, and their paths."""
    context = browser.new_context(**PHONE, service_workers="block")
    page = guard_page(context, outside)
    parts: list[tuple[str, bytes]] = []

    def keep(response) -> None:
        if response.request.resource_type in PAGE_PARTS and response.ok:
            parts.append((response.url.removeprefix(base), response.body()))

    page.on("response", keep)
    page.goto(f"{base}/report")
    page.wait_for_function(READY, timeout=120_000)
    page.wait_for_load_state("networkidle")
    context.close()
    raw = sum(len(body) for _, body in parts)
    zipped = sum(len(gzip.compress(body, 6)) for _, body in parts)
    return raw, zipped, [path for path, _ in parts]


def time_to_interactive(browser, base: str, profile: tuple, outside: list[str]) -> float:
    """Seconds from navigation to a usable form, on a throttled network, cold cache."""
    latency, down, up = profile
    context = browser.new_context(**PHONE, service_workers="block")
    page = guard_page(context, outside)
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": True})
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency, "downloadThroughput": down, "uploadThroughput": up},
    )
    page.goto(f"{base}/report", wait_until="commit", timeout=300_000)
    page.wait_for_function(READY, timeout=300_000, polling=50)
    seconds = page.evaluate("() => performance.now()") / 1000
    context.close()
    return seconds


def photo_bytes(browser, base: str, outside: list[str]) -> tuple[int, int, tuple[int, int]]:
    """A 12 MP camera JPEG's size, and the size and pixels of what the page would upload."""
    original = camera_photo((4000, 3000))
    context = browser.new_context(**PHONE, service_workers="block")
    page = guard_page(context, outside)
    page.goto(f"{base}/report")
    page.wait_for_function(READY, timeout=120_000)
    page.set_input_files(
        "#album", files=[{"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": original}]
    )
    shrunk = page.evaluate(
        """async () => {
            const input = document.getElementById('album');
            const blob = await Photos.downscale(input.files[0]);
            const bitmap = await createImageBitmap(blob);
            return {size: blob.size, width: bitmap.width, height: bitmap.height};
        }"""
    )
    context.close()
    return len(original), shrunk["size"], (shrunk["width"], shrunk["height"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Cold loads per profile (median).")
    parser.add_argument("--database", default="gridsvc", help="Database with a city in it.")
    arguments = parser.parse_args()
    print_machine("bench_residents: /report on a phone")
    url = database_url(get_settings(), arguments.database)
    tree = Path(__file__).resolve().parent.parent
    process, base = start_server(url, tree)
    outside: list[str] = []
    try:
        with launch_chromium() as browser:
            raw, zipped, paths = page_weight(browser, base, outside)
            print(
                f"page weight of /report: {zipped / 1024:.1f} KiB gzipped "
                f"({raw / 1024:.1f} KiB raw) in {len(paths)} files, before map tiles"
            )
            for name, profile in PROFILES.items():
                runs = [
                    time_to_interactive(browser, base, profile, outside)
                    for _ in range(arguments.runs)
                ]
                print(
                    f"time to interactive, {name}: median {statistics.median(runs):.2f} s "
                    f"(runs: {', '.join(f'{r:.2f}' for r in runs)})"
                )
            original, sent, pixels = photo_bytes(browser, base, outside)
            print(
                f"photo: a 12 MP camera JPEG of {original / 1e6:.2f} MB is sent as "
                f"{sent / 1e3:.0f} kB ({pixels[0]}x{pixels[1]}), {original / sent:.0f}x less"
            )
        print(f"requests off the loopback: {len(outside)}")
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    main()
