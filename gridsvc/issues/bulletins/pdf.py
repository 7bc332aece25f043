"""A bulletin as PDF: its HTML printed by headless Chromium (Debian's), A4, nothing fetched.

The bulletin page is self-contained (inline CSS and SVG map), so Chromium reads one file
from a private temporary folder with its own profile and no network of its own. At most
``GRIDSVC_PDF_CONCURRENCY`` prints run at once in a process; each is stopped after
``GRIDSVC_PDF_TIMEOUT_S``.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from gridsvc.common.browser import CHROMIUM_ARGS, chromium_path
from gridsvc.common.errors import UnavailableError
from gridsvc.config import get_settings

PDF_MEDIA_TYPE = "application/pdf"


class PdfUnavailableError(UnavailableError):
    """No PDF could be printed now: no Chromium, too busy, or it took too long."""


@lru_cache
def printers() -> threading.BoundedSemaphore:
    """Return the process's permits to run Chromium for a PDF."""
    return threading.BoundedSemaphore(max(1, get_settings().pdf_concurrency))


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` to PDF with headless Chromium and return the file's bytes.

    Raises
    ------
    PdfUnavailableError
        If Chromium is missing, every permit stays taken for the timeout, or the print
        fails or takes longer than the timeout.
    """
    timeout = get_settings().pdf_timeout_s
    try:
        executable = chromium_path()
    except ValueError as error:
        raise PdfUnavailableError(f"PDF unavailable: {error}") from None
    if not printers().acquire(timeout=timeout):
        raise PdfUnavailableError(
            f"PDF unavailable: every printer (GRIDSVC_PDF_CONCURRENCY) stayed busy for "
            f"{timeout:g} s; try again shortly"
        )
    try:
        with tempfile.TemporaryDirectory(prefix="gridsvc-pdf-") as folder:
            return print_file(executable, Path(folder), html, timeout)
    finally:
        printers().release()


def print_file(executable: str, folder: Path, html: str, timeout: float) -> bytes:
    """Write ``html`` into ``folder``, print it there and return the PDF."""
    page, out = folder / "bulletin.html", folder / "bulletin.pdf"
    page.write_text(html, encoding="utf-8")
    command = [
        executable,
        "--headless",
        *CHROMIUM_ARGS,
        "--no-first-run",
        "--no-pdf-header-footer",
        f"--user-data-dir={folder / 'profile'}",
        f"--print-to-pdf={out}",
        page.as_uri(),
    ]
    try:
        subprocess.run(command, capture_output=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        raise PdfUnavailableError(
            f"PDF unavailable: printing took longer than {timeout:g} s (GRIDSVC_PDF_TIMEOUT_S)"
        ) from None
    except subprocess.CalledProcessError as error:
        raise PdfUnavailableError(
            f"PDF unavailable: chromium failed (exit code {error.returncode})"
        ) from None
    if not out.exists() or out.stat().st_size == 0:
        raise PdfUnavailableError("PDF unavailable: chromium wrote no file")
    return out.read_bytes()
