"""The shared scorer, run exactly as the team runs it, on the seeds and on our own notices."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = Path("/work/shared")
SCORER = SHARED / "tools" / "score_extract.py"
OWN_NOTICES = REPO / "tests" / "data" / "notices"
_FIGURES = re.compile(r"micro precision=(?P<p>[\d.]+) recall=(?P<r>[\d.]+)")

needs_scorer = pytest.mark.skipif(not SCORER.exists(), reason="shared scorer not mounted")


def _score(annotations: Path, texts: Path) -> tuple[float, float]:
    out = subprocess.run(
        [
            sys.executable,
            str(SCORER),
            "--dir",
            str(annotations),
            "--texts",
            str(texts),
            "--pred-cmd",
            f"{sys.executable} -m domain.extract {{txt}} --json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    match = _FIGURES.search(out.stdout.strip().splitlines()[-1])
    assert match is not None, out.stdout
    return float(match.group("p")), float(match.group("r"))


@needs_scorer
def test_the_seed_notices_score_at_least_95_percent() -> None:
    precision, recall = _score(SHARED / "annotations", SHARED / "seeds")
    assert precision >= 0.95
    assert recall >= 0.95


@needs_scorer
def test_our_own_notices_score_at_least_95_percent() -> None:
    precision, recall = _score(OWN_NOTICES, OWN_NOTICES)
    assert precision >= 0.95
    assert recall >= 0.95


def test_every_own_notice_has_its_annotation() -> None:
    texts = {p.stem for p in OWN_NOTICES.glob("*.txt")}
    expected = OWN_NOTICES.glob("*.expected.json")
    annotated = {p.name.removesuffix(".expected.json") for p in expected}
    assert texts == annotated
    assert len(texts) >= 6
