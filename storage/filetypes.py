"""What a file is, by its leading bytes rather than by the extension its sender gave it.

An .exe renamed report.pdf must not pass for a PDF. puremagic (pure Python, maintained)
names the candidate types for a file's signature; a file is accepted when the extension it
claims is among them. Office zip formats (docx/xlsx/pptx) share one signature, and so do
OLE files (doc/xls/ppt and WPS's wps/et/dps): within a family they are not told apart.
"""

from __future__ import annotations

import codecs

import puremagic

# Enough for every signature of the types we accept (they sit at the start).
HEAD_BYTES = 8192
# WPS Office's own OLE formats, under the name puremagic knows their family by.
_SAME_AS = {"et": "xls", "dps": "ppt", "jpeg": "jpg", "tiff": "tif"}
# Extensions whose signature puremagic knows; others (a type added in config that has none)
# are not checked by content.
_SIGNED = frozenset(
    {
        "pdf",
        "doc",
        "xls",
        "ppt",
        "wps",
        "et",
        "dps",
        "docx",
        "xlsx",
        "pptx",
        "zip",
        "rar",
        "7z",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "bmp",
        "tif",
        "tiff",
    }
)
# Plain text has no signature: it must simply not be binary.
_TEXT = frozenset({"txt", "csv", "toml"})


def content_matches(extension: str, data: bytes) -> bool:
    """Whether `data` looks like a file of `extension` (lower case, no dot)."""
    head = data[:HEAD_BYTES]
    if extension in _TEXT:
        return _is_text(head)
    if extension not in _SIGNED:
        return True
    try:
        found = puremagic.magic_string(head)
    except puremagic.PureError:  # no known signature at all
        return False
    names = {match.extension.lstrip(".").lower() for match in found}
    return _SAME_AS.get(extension, extension) in names


def _is_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True  # Notepad's "Unicode"
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(head, final=False)  # the head may end inside a character
        except UnicodeDecodeError:
            continue
        return True
    return False
