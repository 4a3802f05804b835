"""A file's type by its leading bytes: what its name claims must be what it is."""

from __future__ import annotations

import io
import zipfile

import pytest
from docx import Document
from openpyxl import Workbook

from storage.filetypes import content_matches

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 240
OLE = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504  # doc, xls, wps, et
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 20


def _docx() -> bytes:
    out = io.BytesIO()
    Document().save(out)
    return out.getvalue()


def _xlsx() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "x")
    return out.getvalue()


GENUINE = {
    "pdf": PDF,
    "doc": OLE,
    "xls": OLE,
    "wps": OLE,
    "et": OLE,
    "png": PNG,
    "jpg": JPG,
    "jpeg": JPG,
    "zip": _zip(),
    "txt": "通知正文".encode(),
    "csv": b"a,b\n1,2\n",
    "toml": '[campaign]\nname = "打假"\n'.encode("gb18030"),
}


@pytest.mark.parametrize("extension", sorted(GENUINE))
def test_a_genuine_file_is_accepted(extension: str) -> None:
    assert content_matches(extension, GENUINE[extension])


def test_office_zip_files_are_accepted_as_what_they_are() -> None:
    assert content_matches("docx", _docx())
    assert content_matches("xlsx", _xlsx())


@pytest.mark.parametrize("extension", [*sorted(GENUINE), "docx", "xlsx"])
def test_an_exe_renamed_to_an_accepted_type_is_refused(extension: str) -> None:
    assert not content_matches(extension, EXE)


@pytest.mark.parametrize(
    ("extension", "data"),
    [
        ("pdf", PNG),
        ("png", PDF),
        ("jpg", OLE),
        ("doc", PDF),
        ("docx", OLE),
        ("xlsx", PDF),
        ("pdf", b"just some text"),
        ("txt", PNG),
    ],
)
def test_a_file_of_another_accepted_type_under_a_wrong_extension_is_refused(
    extension: str, data: bytes
) -> None:
    assert not content_matches(extension, data)


def test_a_text_cut_inside_a_character_at_the_head_still_counts_as_text() -> None:
    text = ("通" * 5000).encode()  # 15,000 bytes: the 8 KiB head ends mid-character
    assert content_matches("txt", text)


def test_a_type_without_a_known_signature_is_not_checked_by_content() -> None:
    assert content_matches("ofd", EXE)
