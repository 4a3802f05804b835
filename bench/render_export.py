"""Render the demo's 汇总报表 as printed pages, to look at them: `cuibao demo` builds its
data, `cuibao export` writes the workbook, LibreOffice (headless) prints it to PDF and
pdftoppm cuts the PDF into PNG pages (LibreOffice's own PNG export, first page only,
when pdftoppm is missing). Prints the paths. Not a test: without LibreOffice it says so
in one line and exits 0.

    python -m bench.render_export [--out render-export] [--now 2016-12-15T15:30+08:00]
                                  [--future] [--dpi 70]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.demo import CAMPAIGN, CONFIG_NAME

DEMO_NOW = "2016-12-15T15:30+08:00"  # what the demo's closing advice exports as of
STEP_TIMEOUT = 600  # seconds for each of demo, export, conversion


def office() -> str | None:
    """LibreOffice's command, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise SystemExit(f"{what} failed ({done.returncode}):\n" + "\n".join(tail))


def build_workbook(work: Path, out: Path, now: str, future: bool) -> Path:
    """The demo's campaign exported as of `now`, at out/demo-export.xlsx."""
    data = work / "demo"
    run([sys.executable, "-m", "bot", "demo", "--data-dir", str(data)], "cuibao demo")
    book = out / "demo-export.xlsx"
    command = [
        sys.executable,
        "-m",
        "bot",
        "export",
        "--config",
        str(data / CONFIG_NAME),
        "--campaign",
        CAMPAIGN,
        "--standard",
        "--now",
        now,
        "--out",
        str(book),
    ]
    run([*command, "--future"] if future else command, "cuibao export")
    return book


def to_pdf(soffice: str, book: Path, work: Path) -> Path:
    # A profile of its own: a LibreOffice already running elsewhere is not disturbed.
    profile = (work / "lo-profile").resolve().as_uri()
    run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(book.parent),
            str(book),
        ],
        "LibreOffice (to PDF)",
    )
    return book.with_suffix(".pdf")


def to_pngs(soffice: str, pdf: Path, book: Path, work: Path, dpi: int) -> list[Path]:
    for old in pdf.parent.glob(f"{pdf.stem}-*.png"):
        old.unlink()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is not None:
        run([pdftoppm, "-r", str(dpi), "-png", str(pdf), str(pdf.with_suffix(""))], "pdftoppm")
        return sorted(pdf.parent.glob(f"{pdf.stem}-*.png"))
    profile = (work / "lo-profile").resolve().as_uri()
    run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "png",
            "--outdir",
            str(book.parent),
            str(book),
        ],
        "LibreOffice (to PNG)",
    )
    return [book.with_suffix(".png")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("render-export"))
    parser.add_argument("--now", default=DEMO_NOW, help="export as of (ISO date-time)")
    parser.add_argument("--future", action="store_true", help="list periods not yet due")
    parser.add_argument("--dpi", type=int, default=70, help="PNG resolution")
    args = parser.parse_args(argv)
    soffice = office()
    if soffice is None:
        print("LibreOffice (soffice) is not installed: nothing rendered.")
        return 0
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cuibao-render-") as folder:
        work = Path(folder)
        book = build_workbook(work, out, args.now, args.future)
        pdf = to_pdf(soffice, book, work)
        pages = to_pngs(soffice, pdf, book, work, args.dpi)
    print(f"workbook: {book}")
    print(f"pdf:      {pdf}")
    for page in pages:
        print(f"page:     {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
