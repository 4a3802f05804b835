"""The shared scorer, run exactly as the team runs it, on the seeds and on our own notices."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# The team's shared folder sits beside the checkout in CI; a fresh clone elsewhere uses the
# unmodified copies kept in tests/data (the scorer's matching rule is never re-implemented).
SHARED = REPO.parent / "shared"
SCORER = SHARED / "tools" / "score_extract.py"
if not SCORER.exists():
    SCORER = REPO / "tests" / "data" / "score_extract.py"
ANNOTATIONS = (
    SHARED / "annotations"
    if (SHARED / "annotations").is_dir()
    else (REPO / "tests" / "data" / "seeds")
)
SEEDS = SHARED / "seeds" if (SHARED / "seeds").is_dir() else REPO / "tests" / "data" / "seeds"
OWN_NOTICES = REPO / "tests" / "data" / "notices"
CUIBAO = Path(sys.executable).with_name("cuibao")
_FIGURES = re.compile(r"micro precision=(?P<p>[\d.]+) recall=(?P<r>[\d.]+)")


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
            f"{CUIBAO} plan extract {{txt}} --json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    match = _FIGURES.search(out.stdout.strip().splitlines()[-1])
    assert match is not None, out.stdout
    return float(match.group("p")), float(match.group("r"))


def test_the_seed_notices_score_at_least_95_percent() -> None:
    precision, recall = _score(ANNOTATIONS, SEEDS)
    assert precision >= 0.95
    assert recall >= 0.95


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
