"""Reading reporting deadlines out of a notice's text, by rule, offline and deterministically."""

from domain.extract.assemble import extract_obligations
from domain.extract.model import ExtractedObligation, Extraction, Kind, Period, Stage
from domain.extract.render import render_text

__all__ = [
    "ExtractedObligation",
    "Extraction",
    "Kind",
    "Period",
    "Stage",
    "extract_obligations",
    "render_text",
]
