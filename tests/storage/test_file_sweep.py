"""The start-up sweep: stored files no attachment refers to go once past the grace period;
referenced files and young ones stay."""

from __future__ import annotations

import os
import time

from services.reports import ORPHAN_GRACE
from tests.storage.test_intake import NOW, Setting, setting  # noqa: F401 (the fixture)

PDF = b"%PDF-1.4\n%%EOF\n"


async def test_only_old_unreferenced_files_are_swept(setting: Setting) -> None:  # noqa: F811
    st = setting
    await st.reports.attach(st.actor, st.draft_id, "kept.pdf", "application/pdf", PDF, NOW)
    store = st.reports.files
    [kept] = store.keys_older_than(time.time() + 1)
    orphan = store.put(PDF, 1, 1, 1, "pdf").key
    young = store.put(PDF, 1, 1, 2, "pdf").key
    half = store.root / "c1/u1/d3/abc.part"
    half.parent.mkdir(parents=True)
    half.write_bytes(b"%PDF")
    now = time.time() + ORPHAN_GRACE.total_seconds() + 60  # an hour and a minute on
    os.utime(store.path(young), (now - 60, now - 60))  # written a minute ago

    swept = await st.reports.sweep_orphan_files(now)

    assert swept == 2
    assert sorted(store.keys_older_than(now + 1)) == sorted([kept, young])
    assert not store.path(orphan).exists() and not half.exists()
