"""Tiny but real sample files of every accepted drawing type (and a few impostors)."""

from __future__ import annotations

import io
import struct

from django.core.files.uploadedfile import SimpleUploadedFile


def pdf(text: str = "Drawing A-1 flange", pages: int = 1) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=(595, 842))
    for number in range(pages):
        sheet.drawString(72, 760, f"{text} ({number + 1})")
        sheet.showPage()
    sheet.save()
    return buffer.getvalue()


def step() -> bytes:
    return (
        b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('flange'),'2;1');\n"
        b"FILE_NAME('flange.stp','2026-01-05T10:00:00',(''),(''),'','','');\n"
        b"FILE_SCHEMA(('AUTOMOTIVE_DESIGN'));\nENDSEC;\nDATA;\n"
        b"#1=CARTESIAN_POINT('',(0.,0.,0.));\nENDSEC;\nEND-ISO-10303-21;\n"
    )


def _iges_line(text: str, section: str, number: int) -> str:
    return f"{text:<72}{section}{number:>7}"


def iges() -> bytes:
    lines = [
        _iges_line("Spindle sample part", "S", 1),
        _iges_line("1H,,1H;,6Hflange,10Hflange.igs,6Hsample,6Hsample,32,38,6,308,15;", "G", 1),
        _iges_line("     110       1       0       0       0       0       0       000000000", "D", 1),
        _iges_line("     110       0       0       1       0                               0", "D", 2),
        _iges_line("110,0.,0.,0.,10.,0.,0.;                                          1", "P", 1),
        _iges_line("S      1G      1D      2P      1", "T", 1),
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def stl_ascii() -> bytes:
    return (
        b"solid flange\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n"
        b"   vertex 0 1 0\n  endloop\n endfacet\nendsolid flange\n"
    )


def stl_binary(triangles: int = 2) -> bytes:
    # Many CAD exporters start the binary header with "solid": the size rule must still win.
    header = b"solid exported by a CAD system".ljust(80, b" ")
    facet = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    return header + struct.pack("<I", triangles) + facet * triangles


def dxf() -> bytes:
    return b"999\nSpindle sample\n  0\nSECTION\n  2\nHEADER\n  9\n$ACADVER\n  1\nAC1027\n  0\nENDSEC\n  0\nEOF\n"


def dwg() -> bytes:
    return b"AC1032" + b"\x00" * 5 + b"\x1f\x01" + bytes(range(64)) * 4


def image(fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (18, 53, 91)).save(buffer, format=fmt)
    return buffer.getvalue()


def exe() -> bytes:
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + b"This program cannot be run in DOS mode."
    )


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)
