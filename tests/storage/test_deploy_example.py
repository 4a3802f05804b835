"""The deployment example in deploy/ (systemd units, nginx, config) works as shipped:
deploy/try_locally.py starts it from those files and uses it; here it must say OK."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.storage.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(PG_URL is None, reason="the example runs on PostgreSQL")
@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
    reason="nginx is not installed (apt install nginx-light)",
)
def test_the_deployment_example_starts_from_its_files_and_serves_forty_people() -> None:
    assert PG_URL is not None
    done = subprocess.run(
        [sys.executable, "-m", "deploy.try_locally", "--postgres", PG_URL, "--people", "40"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("OK")
    assert "stopped by SIGTERM" in done.stdout
