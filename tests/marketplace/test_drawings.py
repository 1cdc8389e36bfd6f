"""Drawings: accepted by content, size-capped while read, private, NDA-gated, logged, watermarked."""

import hashlib
import io

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from marketplace.errors import DomainError
from marketplace.models import FileAccessLog, OrderFile
from marketplace.services import orders as services
from tests import samples
from tests.conftest import stored_files
from tests.factories import OrderFactory

ACCEPTED = [
    ("flange.pdf", samples.pdf(), "pdf", "application/pdf"),
    ("flange.step", samples.step(), "step", "model/step"),
    ("flange.STP", samples.step(), "step", "model/step"),
    ("flange.igs", samples.iges(), "iges", "model/iges"),
    ("flange.iges", samples.iges(), "iges", "model/iges"),
    ("flange.stl", samples.stl_ascii(), "stl", "model/stl"),
    ("flange-binary.stl", samples.stl_binary(), "stl", "model/stl"),
    ("flange.dxf", samples.dxf(), "dxf", "image/vnd.dxf"),
    ("flange.dwg", samples.dwg(), "dwg", "image/vnd.dwg"),
    ("photo.png", samples.image("PNG"), "image", "image/png"),
    ("photo.jpg", samples.image("JPEG"), "image", "image/jpeg"),
    ("photo.webp", samples.image("WEBP"), "image", "image/webp"),
    ("scan.tiff", samples.image("TIFF"), "image", "image/tiff"),
]


@pytest.fixture
def en(settings):
    """Pages and messages in English (the site's default language is Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def order(buyer_org):
    return OrderFactory(buyer=buyer_org, status="open")


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content", "kind", "content_type"), ACCEPTED)
def test_each_type_is_accepted_by_content(name, content, kind, content_type, order, buyer_owner, private_media):
    stored = services.add_order_file(order=order, by=buyer_owner, upload=samples.upload(name, content, "text/plain"))

    stored.refresh_from_db()
    assert (stored.original_name, stored.kind, stored.content_type, stored.size) == (
        name,
        kind,
        content_type,
        len(content),
    )
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    # Stored privately under a random name, not the uploaded one.
    assert stored.file.name.startswith("order-files/")
    assert name.lower() not in stored.file.name.lower()
    assert [p.read_bytes() for p in stored_files(private_media)] == [content]


REFUSED = [
    ("setup.pdf", samples.exe(), "content"),  # an .exe renamed .pdf
    ("flange.stl", samples.pdf(), "extension_mismatch"),
    ("flange.pdf", samples.step(), "extension_mismatch"),
    ("photo.png", samples.image("JPEG"), "extension_mismatch"),
    ("flange.stl", samples.stl_binary()[:-7], "content"),  # size does not match the triangle count
    ("flange.igs", b"not an IGES file\n" * 5, "content"),
    ("setup.exe", samples.exe(), "extension"),
    ("flange", samples.step(), "extension"),
    ("empty.pdf", b"", "empty"),
    ("broken.pdf", b"%PDF-1.7\nthis is not really a PDF\n", "content"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content", "code"), REFUSED)
def test_bad_files_are_refused_and_nothing_is_stored(name, content, code, order, buyer_owner, private_media):
    with pytest.raises(DomainError) as refused:
        services.add_order_file(order=order, by=buyer_owner, upload=samples.upload(name, content, "application/pdf"))
    assert refused.value.code == code
    assert OrderFile.objects.count() == 0
    assert stored_files(private_media) == []


@pytest.mark.django_db
def test_refusal_messages_are_clear(order, buyer_owner, private_media):
    with translation.override("en"), pytest.raises(DomainError) as refused:
        services.add_order_file(order=order, by=buyer_owner, upload=samples.upload("setup.pdf", samples.exe()))
    assert refused.value.message == ("setup.pdf is not a valid PDF file: its content was checked, not just its name.")
    with translation.override("en"), pytest.raises(DomainError) as refused:
        services.add_order_file(order=order, by=buyer_owner, upload=samples.upload("part.stl", samples.pdf()))
    assert refused.value.message == "part.stl contains a PDF file, but its name ends in .stl."


class GeneratedBody(io.RawIOBase):
    """A multipart body produced on the fly (nothing of it is ever held in memory at once)."""

    def __init__(self, boundary: bytes, file_size: int, name: str = "huge.pdf"):
        self.parts = [
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode() + b'"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n",
        ]
        self.filler = file_size - len(b"%PDF-1.7\n")
        self.tail = b"\r\n--" + boundary + b"--\r\n"
        self.length = len(self.parts[0]) + self.filler + len(self.tail)
        self.read_so_far = 0
        self.buffer = self.parts[0]

    def readable(self):
        return True

    def readinto(self, target):
        if not self.buffer:
            if self.filler > 0:
                size = min(self.filler, 1024 * 1024)
                self.filler -= size
                self.buffer = b"0" * size
            elif self.tail:
                self.buffer, self.tail = self.tail, b""
            else:
                return 0
        count = min(len(target), len(self.buffer))
        target[:count] = self.buffer[:count]
        self.buffer = self.buffer[count:]
        self.read_so_far += count
        return count


def post_stream(client, url, body: GeneratedBody, boundary: bytes, **extra):
    return client.request(
        REQUEST_METHOD="POST",
        PATH_INFO=url,
        CONTENT_TYPE="multipart/form-data; boundary=" + boundary.decode(),
        CONTENT_LENGTH=str(body.length),
        **{"wsgi.input": body},
        **extra,
    )


@pytest.mark.django_db
def test_a_200_mb_upload_is_refused_unread(client_for, order, buyer_owner, private_media, en):
    boundary = b"spindleboundary200"
    body = GeneratedBody(boundary, 200 * 1024 * 1024)
    client = client_for(buyer_owner)

    with translation.override("en"):
        response = post_stream(
            client, reverse("order_file_upload", args=[order.pk]), body, boundary, HTTP_HX_REQUEST="true"
        )

    assert response.status_code == 200
    assert "The file is larger than 50 MB." in response.content.decode()
    assert body.read_so_far == 0  # refused from the declared length: the body was never read
    assert OrderFile.objects.count() == 0
    assert stored_files(private_media) == []


@pytest.mark.django_db
def test_the_size_cap_is_enforced_while_reading(client_for, order, buyer_owner, private_media, settings, en):
    """A body whose declared length passes is still cut off once the file exceeds the cap."""
    settings.SPINDLE_MAX_UPLOAD_MB = 1
    boundary = b"spindleboundary1mb"
    body = GeneratedBody(boundary, 1024 * 1024 + 20 * 1024)
    client = client_for(buyer_owner)

    with translation.override("en"):
        response = post_stream(client, reverse("order_file_upload", args=[order.pk]), body, boundary)

    assert response.status_code == 302
    follow = client.get(response.url)
    assert "The file is larger than 1 MB." in follow.content.decode()
    assert OrderFile.objects.count() == 0
    assert stored_files(private_media) == []


@pytest.mark.django_db
def test_upload_over_http_with_htmx_returns_the_file_list(client_for, order, buyer_owner, private_media):
    response = client_for(buyer_owner).post(
        reverse("order_file_upload", args=[order.pk]),
        {"file": samples.upload("flange.step", samples.step())},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="order-files"' in response.content.decode()
    assert "flange.step" in response.content.decode()
    assert list(OrderFile.objects.values_list("original_name", "kind")) == [("flange.step", "step")]


@pytest.mark.django_db
def test_refused_upload_over_http_shows_why(client_for, order, buyer_owner, private_media, en):
    with translation.override("en"):
        response = client_for(buyer_owner).post(
            reverse("order_file_upload", args=[order.pk]),
            {"file": samples.upload("setup.pdf", samples.exe())},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    assert "setup.pdf is not a valid PDF file" in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert OrderFile.objects.count() == 0
    assert stored_files(private_media) == []


@pytest.mark.django_db
def test_remove_a_file(client_for, order, buyer_owner, private_media, django_capture_on_commit_callbacks):
    stored = services.add_order_file(order=order, by=buyer_owner, upload=samples.upload("a.dxf", samples.dxf()))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(buyer_owner).post(reverse("order_file_remove", args=[order.pk, stored.pk]))
    assert response.status_code == 302
    assert OrderFile.objects.count() == 0
    assert stored_files(private_media) == []


# --- access -----------------------------------------------------------------------------------


@pytest.fixture
def drawing(order, buyer_owner, private_media):
    return services.add_order_file(order=order, by=buyer_owner, upload=samples.upload("flange.pdf", samples.pdf()))


@pytest.fixture
def model(order, buyer_owner, private_media):
    return services.add_order_file(order=order, by=buyer_owner, upload=samples.upload("flange.step", samples.step()))


def file_url(f, **query):
    url = reverse("order_file", args=[f.order_id, f.pk])
    return url + ("?download=1" if query.get("download") else "")


@pytest.mark.django_db
def test_outsiders_and_unshared_providers_get_404_and_no_log(client_for, drawing, model, outsider, provider_owner):
    for user in (outsider, provider_owner):
        client = client_for(user)
        for url in (
            reverse("order_detail", args=[drawing.order_id]),
            file_url(drawing),
            file_url(model, download=True),
        ):
            assert client.get(url).status_code == 404, (user, url)
    assert FileAccessLog.objects.count() == 0


@pytest.mark.django_db
def test_operator_without_second_factor_gets_404(client_for, drawing):
    from tests.factories import UserFactory

    staff = UserFactory(email="new-ops@spindle.example", is_staff=True)
    assert client_for(staff).get(file_url(drawing)).status_code == 404
    assert FileAccessLog.objects.count() == 0


@pytest.mark.django_db
def test_a_file_of_another_order_is_404(client_for, drawing, buyer_org, buyer_owner):
    other = OrderFactory(buyer=buyer_org, status="open")
    assert client_for(buyer_owner).get(reverse("order_file", args=[other.pk, drawing.pk])).status_code == 404
    assert FileAccessLog.objects.count() == 0


@pytest.mark.django_db
def test_each_allowed_access_writes_exactly_one_log_row(
    client_for, drawing, model, buyer_org, buyer_owner, provider_org, provider_member, operator
):
    services.share_order(order=drawing.order, provider=provider_org, by=buyer_owner)
    expected = []
    for user, organisation in ((buyer_owner, buyer_org), (provider_member, provider_org), (operator, None)):
        client = client_for(user)
        response = client.get(file_url(model), REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == samples.step()
        assert response["Cache-Control"] == "private, no-store"
        expected.append((model.pk, user.pk, organisation.pk if organisation else None, "view", "203.0.113.7"))
        response = client.get(file_url(model, download=True), REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
        assert response["Content-Disposition"] == 'attachment; filename="flange.step"'
        b"".join(response.streaming_content)
        expected.append((model.pk, user.pk, organisation.pk if organisation else None, "download", "203.0.113.7"))
        assert (
            list(FileAccessLog.objects.order_by("pk").values_list("file", "user", "organisation", "action", "ip"))
            == expected
        )


@pytest.mark.django_db
def test_nda_must_be_accepted_before_a_drawing_opens(client_for, drawing, buyer_owner, provider_org, provider_member):
    order = drawing.order
    services.update_order(order=order, by=buyer_owner, changes={"nda_required": True, "nda_text": "不得外传。"})
    services.share_order(order=order, provider=provider_org, by=buyer_owner)
    client = client_for(provider_member)

    with translation.override("en"):
        refused = client.get(file_url(drawing), HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 403
    assert FileAccessLog.objects.count() == 0
    detail = client.get(reverse("order_detail", args=[order.pk]))
    assert "不得外传。" in detail.content.decode()
    assert reverse("order_nda_accept", args=[order.pk]) in detail.content.decode()

    response = client.post(reverse("order_nda_accept", args=[order.pk]))
    assert response.status_code == 302
    assert client.get(file_url(drawing)).status_code == 200
    assert list(FileAccessLog.objects.values_list("user", "action")) == [(provider_member.pk, "view")]


@pytest.mark.django_db
def test_nda_refusal_message_is_clear(client_for, drawing, buyer_owner, provider_org, provider_member, settings):
    settings.LANGUAGE_CODE = "en"
    order = drawing.order
    services.update_order(order=order, by=buyer_owner, changes={"nda_required": True, "nda_text": "Confidential."})
    services.share_order(order=order, provider=provider_org, by=buyer_owner)
    response = client_for(provider_member).get(file_url(drawing), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "Accept the buyer&#x27;s non-disclosure agreement before opening the drawings." in response.content.decode()


@pytest.mark.django_db
def test_pdf_is_served_watermarked_and_the_original_is_unchanged(
    client_for, drawing, buyer_owner, provider_org, provider_member
):
    services.share_order(order=drawing.order, provider=provider_org, by=buyer_owner)
    original = drawing.file.open("rb").read()
    drawing.file.close()

    response = client_for(provider_member).get(file_url(drawing))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="flange.pdf"'
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Drawing A-1 flange (1)" in text
    assert "Suzhou Precision CNC" in text
    assert response.content != original
    with drawing.file.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == drawing.sha256


@pytest.mark.django_db
def test_watermark_renders_chinese_names_on_every_page(buyer_org, buyer_owner, order, private_media):
    from datetime import UTC, datetime

    from marketplace.drawings import watermark_pdf

    body = watermark_pdf(
        io.BytesIO(samples.pdf(pages=3)),
        organisation_name="苏州精工数控有限公司",
        at=datetime(2030, 1, 2, 3, 4, tzinfo=UTC),
    )
    pages = PdfReader(io.BytesIO(body)).pages
    assert len(pages) == 3
    for page in pages:
        text = page.extract_text()
        assert "苏州精工数控有限公司" in text
        assert "2030-01-02 03:04" in text
