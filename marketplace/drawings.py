"""Drawings: recognise an upload by its content, cap its size while it is read, watermark PDFs.

A file's name is never trusted: its type is detected from magic bytes or structure, and its
extension must agree with what was detected. The size cap is enforced by an upload handler
while the request body is read, so an oversized upload is never written anywhere.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

from marketplace.errors import DomainError
from marketplace.models import OrderFile

K = OrderFile.Kind


@dataclass(frozen=True)
class Detected:
    kind: str  # OrderFile.Kind
    subtype: str  # "pdf", "step", "stl-ascii", "png"…
    content_type: str


# What each extension promises: the detected subtype must be one of these.
EXTENSIONS: dict[str, set[str]] = {
    ".pdf": {"pdf"},
    ".step": {"step"},
    ".stp": {"step"},
    ".iges": {"iges"},
    ".igs": {"iges"},
    ".stl": {"stl-ascii", "stl-binary"},
    ".dxf": {"dxf"},
    ".dwg": {"dwg"},
    ".png": {"png"},
    ".jpg": {"jpeg"},
    ".jpeg": {"jpeg"},
    ".webp": {"webp"},
    ".tif": {"tiff"},
    ".tiff": {"tiff"},
}

# Human names of the types, for messages.
TYPE_NAMES = {
    "pdf": "PDF",
    "step": "STEP",
    "iges": "IGES",
    "stl-ascii": "STL",
    "stl-binary": "STL",
    "dxf": "DXF",
    "dwg": "DWG",
    "png": "PNG",
    "jpeg": "JPEG",
    "webp": "WebP",
    "tiff": "TIFF",
}
ACCEPTED_TYPES = "PDF, STEP/STP, IGES/IGS, STL, DXF, DWG, PNG, JPEG, WebP, TIFF"
ACCEPT_ATTRIBUTE = ",".join(sorted(EXTENSIONS))

HEAD_BYTES = 64 * 1024
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "TIFF": "tiff"}
IMAGE_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "tiff": "image/tiff"}
DWG_MAGIC = re.compile(rb"^AC10[0-3]\d")
IGES_SECTIONS = set("SGDPT")
DXF_BINARY_SENTINEL = b"AutoCAD Binary DXF\r\n\x1a\x00"


def max_upload_bytes() -> int:
    return settings.SPINDLE_MAX_UPLOAD_MB * 1024 * 1024


def _text_lines(head: bytes, count: int) -> list[str]:
    text = head.decode("latin-1")
    return text.splitlines()[:count]


def _strip_bom(head: bytes) -> bytes:
    return head[3:] if head.startswith(b"\xef\xbb\xbf") else head


def _is_iges(head: bytes) -> bool:
    """IGES: fixed 80-column records, the section letter (S, G, D, P, T) in column 73 and a
    sequence number in columns 74–80; the file opens with the Start section."""
    lines = head.decode("latin-1").splitlines()
    if len(head) >= HEAD_BYTES:
        lines = lines[:-1]  # the last line may be cut off by the head's end
    lines = lines[:10]
    if not lines:
        return False
    for line in lines:
        if len(line) != 80 or line[72] not in IGES_SECTIONS or not line[73:80].strip().isdigit():
            return False
    return lines[0][72] == "S"


def _is_dxf(head: bytes) -> bool:
    """ASCII DXF: group-code/value line pairs opening with ``0`` / ``SECTION`` (after any 999
    comments); binary DXF has its own sentinel."""
    if head.startswith(DXF_BINARY_SENTINEL):
        return True
    lines = [line.strip() for line in _text_lines(_strip_bom(head), 40)]
    while len(lines) >= 2 and lines[0] == "999":
        lines = lines[2:]
    return len(lines) >= 2 and lines[0] == "0" and lines[1] == "SECTION"


def _is_binary_stl(head: bytes, size: int) -> bool:
    """Binary STL: an 80-byte header, a little-endian triangle count, 50 bytes per triangle."""
    if size < 84 + 50 or len(head) < 84:
        return False
    (triangles,) = struct.unpack_from("<I", head, 80)
    return triangles > 0 and size == 84 + 50 * triangles


def _is_ascii_stl(head: bytes) -> bool:
    text = _strip_bom(head).lstrip()
    if text[:5].lower() != b"solid":
        return False
    body = text[5:].lower()
    return b"facet" in body and b"vertex" in body


def _image_format(fileobj) -> str | None:
    from PIL import Image, UnidentifiedImageError

    fileobj.seek(0)
    try:
        with Image.open(fileobj) as image:
            image_format = image.format
            image.verify()  # structural check of the whole file, without decoding every pixel
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    finally:
        fileobj.seek(0)
    return IMAGE_FORMATS.get(image_format or "")


def detect(fileobj, size: int) -> Detected | None:
    """The type of a file judged by its content, or None when it is none of the accepted ones."""
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    if head.startswith(b"%PDF-"):
        return Detected(K.PDF, "pdf", "application/pdf")
    if DWG_MAGIC.match(head):
        return Detected(K.DWG, "dwg", "image/vnd.dwg")
    if _strip_bom(head).lstrip().startswith(b"ISO-10303-21;"):
        return Detected(K.STEP, "step", "model/step")
    # Binary STL headers are free text (often "solid …"), so the size rule is checked first.
    if _is_binary_stl(head, size):
        return Detected(K.STL, "stl-binary", "model/stl")
    if _is_ascii_stl(head):
        return Detected(K.STL, "stl-ascii", "model/stl")
    if _is_iges(head):
        return Detected(K.IGES, "iges", "model/iges")
    if _is_dxf(head):
        return Detected(K.DXF, "dxf", "image/vnd.dxf")
    image = _image_format(fileobj)
    if image:
        return Detected(K.IMAGE, image, IMAGE_CONTENT_TYPES[image])
    return None


def _pdf_is_readable(fileobj) -> bool:
    """A PDF must open (so it can be watermarked when served)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    fileobj.seek(0)
    try:
        reader = PdfReader(fileobj)
        if reader.is_encrypted and not reader.decrypt(""):
            return False
        return len(reader.pages) > 0
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        return False
    finally:
        fileobj.seek(0)


def check_upload(upload) -> Detected:
    """Check an uploaded file's size, content and name; raise DomainError if any is wrong."""
    name = PurePath(upload.name or "").name
    if upload.size > max_upload_bytes():
        raise DomainError(too_large_message(name), code="too_large")
    if upload.size == 0:
        raise DomainError(_("%(name)s is empty.") % {"name": name}, code="empty")
    extension = PurePath(name).suffix.lower()
    if extension not in EXTENSIONS:
        raise DomainError(
            _("Files like %(name)s are not accepted. Upload one of: %(types)s.")
            % {"name": name, "types": ACCEPTED_TYPES},
            code="extension",
        )
    detected = detect(upload, upload.size)
    expected = ", ".join(sorted({TYPE_NAMES[s] for s in EXTENSIONS[extension]}))
    if detected is None:
        raise DomainError(
            _("%(name)s is not a valid %(type)s file: its content was checked, not just its name.")
            % {"name": name, "type": expected},
            code="content",
        )
    if detected.subtype not in EXTENSIONS[extension]:
        raise DomainError(
            _("%(name)s contains a %(detected)s file, but its name ends in %(extension)s.")
            % {"name": name, "detected": TYPE_NAMES[detected.subtype], "extension": extension},
            code="extension_mismatch",
        )
    if detected.kind == K.PDF and not _pdf_is_readable(upload):
        raise DomainError(_("%(name)s is a damaged or password-protected PDF.") % {"name": name}, code="content")
    return detected


def too_large_message(name: str = "") -> str:
    limit = settings.SPINDLE_MAX_UPLOAD_MB
    if name:
        return _("%(name)s is larger than %(limit)s MB.") % {"name": name, "limit": limit}
    return _("The file is larger than %(limit)s MB.") % {"limit": limit}


# Room for the multipart envelope (boundaries, part headers, the CSRF token) around one file.
MULTIPART_OVERHEAD = 64 * 1024


def request_too_large(request) -> bool:
    """True when the declared body is already bigger than one allowed file could make it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > max_upload_bytes() + MULTIPART_OVERHEAD


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts each file's bytes as they arrive and stops the upload past the limit.

    Installed first, so later handlers (memory or temporary file) never receive the excess;
    nothing is written under MEDIA_ROOT until the service has checked the complete file.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > max_upload_bytes():
            self.request.upload_too_large = True
            # connection_reset=False: read (and discard) the rest so the client gets our answer.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


# --- watermarking -------------------------------------------------------------------------

WATERMARK_FONT = "STSong-Light"  # reportlab's built-in CID font: renders Chinese and Latin text


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if WATERMARK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(WATERMARK_FONT))


def _overlay(width: float, height: float, lines: list[str]):
    from pypdf import PdfReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=(width, height))
    size = max(10.0, min(width, height) / 22)
    sheet.setFont(WATERMARK_FONT, size)
    sheet.setFillColorRGB(0.75, 0.1, 0.1, alpha=0.28)
    sheet.saveState()
    sheet.translate(width / 2, height / 2)
    sheet.rotate(35)
    for index, line in enumerate(lines):
        sheet.drawCentredString(0, -index * size * 1.4, line)
    sheet.restoreState()
    sheet.save()
    buffer.seek(0)
    return PdfReader(buffer).pages[0]


def watermark_pdf(source, *, organisation_name: str, at: datetime) -> bytes:
    """A copy of the PDF with a diagonal watermark (viewer's organisation and time) on every
    page. The stored original is only read."""
    from pypdf import PdfWriter, Transformation

    _register_font()
    writer = PdfWriter(clone_from=source)
    lines = [organisation_name, f"{at:%Y-%m-%d %H:%M %Z} · Spindle", _("Confidential")]
    overlays: dict[tuple[float, float], object] = {}
    for page in writer.pages:
        box = page.mediabox
        key = (float(box.width), float(box.height))
        if key not in overlays:
            overlays[key] = _overlay(*key, lines)
        # Boxes need not start at the origin: move the overlay onto the visible area.
        page.merge_transformed_page(overlays[key], Transformation().translate(float(box.left), float(box.bottom)))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
