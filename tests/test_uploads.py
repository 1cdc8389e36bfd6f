"""Every upload field refuses a file that is too big and a file whose content is not what its
name says, through the real view, with a clear message — and stores nothing: no row changes
(tests/fuzz_support.table_digest) and no file appears under MEDIA_ROOT.

The upload fields are discovered (every FileField of the project's models, every FileField of its
forms) and each must be covered by an entry of UPLOADS. The per-feature tests (test_drawings,
test_trade_views, test_job_reports, test_provider_profile, test_workspace, test_import) keep the
detailed cases; this one makes sure no upload was forgotten.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django import forms
from django.apps import apps
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils.html import escape
from PIL import Image

from capacity.uploads import MAX_DOCUMENT_BYTES, MAX_PHOTO_BYTES
from tests.conftest import stored_files
from tests.fuzz_support import PROJECT_APPS, changed_tables, table_digest
from tests.test_form_fuzz import _draft_order, project_forms
from tests.test_scoping import url_for, world  # noqa: F401  (the shared world fixture)

DRAWING_LIMIT_MB = 1  # settings.SPINDLE_MAX_UPLOAD_MB for these tests (50 in production)
IMPORT_LIMIT = 10 * 1024 * 1024


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def _unverified_profile(w):
    """A profile under review is frozen (its licence cannot change): take one being edited."""
    from capacity.models import ProviderProfile

    ProviderProfile.objects.filter(pk=w["profile_id"]).update(status=ProviderProfile.Status.UNVERIFIED)
    return {}


def _no_report_yet(w):
    """The world's booking already has a job report; a second one is refused before its file."""
    from capacity.models import JobReport

    JobReport.objects.filter(pk=w["report_id"]).delete()
    return {}


@dataclass(frozen=True)
class UploadCase:
    covers: tuple[str, ...]  # "app.Model.field" and/or "FormClass.field"
    route: str
    persona: str
    field: str
    limit: int  # bytes
    too_big: str  # part of the refusal message for a file over the limit
    mismatch: str  # part of the refusal message for content that does not match the name
    ok_name: str = "file.pdf"
    data: tuple = ()  # extra (name, value) pairs; "{link}"/"{report}" are world ids
    setup: object = None


DRAWING = DRAWING_LIMIT_MB * 1024 * 1024
DRAWING_TOO_BIG = f"larger than {DRAWING_LIMIT_MB} MB"
NOT_A_PDF = "is not a valid PDF file: its content was checked"

UPLOADS = [
    UploadCase(
        ("marketplace.OrderFile.file", "UploadForm.file"),
        "order_file_upload", "buyer_owner", "file", DRAWING, DRAWING_TOO_BIG, NOT_A_PDF, setup=_draft_order,
    ),
    UploadCase(
        ("marketplace.TradeAttachment.file",),
        "trade_message", "buyer_owner", "files", DRAWING, DRAWING_TOO_BIG, NOT_A_PDF, data=(("body", "Rev C"),),
    ),
    UploadCase(
        ("marketplace.Trade.inspection_report", "InspectionForm.report"),
        "trade_inspection", "buyer_owner", "report", DRAWING, DRAWING_TOO_BIG, NOT_A_PDF,
        data=(("accepted", "10"), ("rejected", "0")),
    ),
    UploadCase(
        ("capacity.JobReport.evidence", "JobReportForm.evidence"),
        "trade_job_report", "provider_owner", "report-{link}-evidence", DRAWING, DRAWING_TOO_BIG, NOT_A_PDF,
        data=(("report-{link}-run_hours", "1.5"), ("report-{link}-parts", "3")), setup=_no_report_yet,
    ),
    UploadCase(
        ("billing.Invoice.fapiao", "FapiaoForm.file"),
        "billing:invoice_fapiao_upload", "provider_owner", "file", DRAWING, DRAWING_TOO_BIG, NOT_A_PDF,
    ),
    UploadCase(
        ("capacity.ProviderProfile.business_licence", "ProviderProfileForm.business_licence_upload"),
        "capacity:workspace_profile", "provider_owner", "business_licence_upload", MAX_DOCUMENT_BYTES,
        "documents may be at most 10 MB", "Upload a PDF, JPEG or PNG file",
        data=(("legal_name", "Suzhou Precision CNC Co., Ltd."),), setup=_unverified_profile,
    ),
    UploadCase(
        ("capacity.Certification.document", "CertificationForm.document_upload"),
        "capacity:workspace_certification_create", "provider_owner", "document_upload", MAX_DOCUMENT_BYTES,
        "documents may be at most 10 MB", "Upload a PDF, JPEG or PNG file",
        data=(("standard", "iso9001"), ("number", "CN-QMS-2"), ("issuer", "CQC")),
    ),
    UploadCase(
        ("capacity.ProviderPhoto.image", "PhotoForm.image"),
        "capacity:workspace_profile_photo_add", "provider_owner", "image", MAX_PHOTO_BYTES,
        "photos may be at most 5 MB", "Upload a JPEG, PNG or WebP photo", ok_name="photo.png",
    ),
    UploadCase(
        ("capacity.ResourcePhoto.image", "PhotoForm.image"),
        "capacity:workspace_resource_photo_add", "provider_owner", "image", MAX_PHOTO_BYTES,
        "photos may be at most 5 MB", "Upload a JPEG, PNG or WebP photo", ok_name="photo.png",
    ),
    UploadCase(
        ("ImportForm.file",),
        "capacity:workspace_resource_import", "provider_owner", "file", IMPORT_LIMIT,
        "larger than 10 MB", "Upload a CSV or Excel (.xlsx) file", ok_name="resources.xlsx",
    ),
]  # fmt: skip


def upload_fields() -> set[str]:
    found = set()
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.get_fields():
                if isinstance(field, models.FileField):
                    found.add(f"{label}.{model.__name__}.{field.name}")
    for form_class in project_forms():
        for name, field in form_class.base_fields.items():
            if isinstance(field, forms.FileField):
                found.add(f"{form_class.__name__}.{name}")
    return found


def test_every_upload_field_is_covered():
    covered = {key for case in UPLOADS for key in case.covers}
    assert upload_fields() - covered == set(), "add the new upload fields to UPLOADS in tests/test_uploads.py"
    assert covered - upload_fields() == set(), "UPLOADS names fields that no longer exist"


def _body(kind: str, case: UploadCase) -> tuple[str, bytes]:
    if kind == "too_big":
        head = _png() if case.ok_name.endswith(".png") else PDF
        return case.ok_name, head + b"\x00" * (case.limit + 1 - len(head))
    # A Windows executable, or (for the spreadsheet import) a picture, under an accepted name.
    return case.ok_name, (_png() if case.ok_name.endswith(".xlsx") else EXE)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["too_big", "mismatch"])
@pytest.mark.parametrize("case", UPLOADS, ids=[f"{c.route}-{c.field}" for c in UPLOADS])
def test_a_bad_upload_is_refused_clearly_and_nothing_is_stored(
    request,
    client,
    world,  # noqa: F811  (the fixture imported above)
    private_media,
    settings,
    case,
    kind,
):
    settings.LANGUAGE_CODE = "en"
    settings.SPINDLE_MAX_UPLOAD_MB = DRAWING_LIMIT_MB
    overrides = case.setup(world) if case.setup else {}
    ids = {"link": world["link_id"], "report": world["report_id"]}
    client.force_login(request.getfixturevalue(case.persona))
    name, content = _body(kind, case)
    data = {key.format(**ids): value for key, value in case.data}
    data[case.field.format(**ids)] = SimpleUploadedFile(name, content)
    before, files_before = table_digest(), stored_files(private_media)

    response = client.post(url_for(case.route, {**world, **overrides}), data)

    assert response.status_code in (200, 302, 400, 413, 422), response.status_code
    assert changed_tables(before, table_digest()) == []
    assert stored_files(private_media) == files_before
    expected = case.too_big if kind == "too_big" else case.mismatch
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    if response.status_code != 302:
        shown.append(response.content.decode())
    assert any(expected in text or escape(expected) in text for text in shown), (expected, shown[:2])
