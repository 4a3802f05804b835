"""Helpers shared by the extractor's tests."""

from __future__ import annotations

from domain.extract import ExtractedObligation, extract_obligations


def only(text: str) -> ExtractedObligation:
    """The single obligation a snippet must yield."""
    found = extract_obligations(text).obligations
    assert len(found) == 1, [o.quote for o in found]
    return found[0]


def none_in(text: str) -> bool:
    return extract_obligations(text).obligations == ()
