"""The bilingual (中文 / English) invoice PDF, drawn with ReportLab.

Chinese text uses ReportLab's built-in CID font STSong-Light (no font file to ship); labels are
given in both languages so the same document serves both parties and their accountants.
"""

from __future__ import annotations

from io import BytesIO

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import Invoice
from billing.money import format_money
from billing.services.invoices import amount_due

FONT = "STSong-Light"
if FONT not in pdfmetrics.getRegisteredFontNames():
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))

BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10)
TITLE = ParagraphStyle("title", parent=BODY, fontSize=16, leading=20)


def _p(text: str, style=BODY) -> Paragraph:
    from xml.sax.saxutils import escape

    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _money(amount, currency: str) -> str:
    return format_money(amount, currency, language="en")


def render_invoice_pdf(invoice: Invoice) -> bytes:
    bank = settings.SPINDLE_PLATFORM_BANK
    currency = invoice.currency
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Invoice {invoice.number}",
        author=invoice.seller_legal_name,
    )
    story = [
        _p("发票 / Invoice", TITLE),
        _p(f"编号 No.: {invoice.number}"),
        _p(f"开票日期 Issued: {invoice.issued_at:%Y-%m-%d}    到期日 Due: {invoice.due_at:%Y-%m-%d}"),
        _p(f"交易 Trade: #{invoice.trade_id}"),
        Spacer(1, 6 * mm),
    ]
    parties = Table(
        [
            [_p("销售方 Seller (服务商 provider)"), _p("购买方 Buyer (需求方)")],
            [_p(invoice.seller_legal_name), _p(invoice.buyer_legal_name)],
            [
                _p(f"纳税人识别号 Tax ID: {invoice.seller_tax_id or '—'}"),
                _p(f"纳税人识别号 Tax ID: {invoice.buyer_tax_id or '—'}"),
            ],
            [
                _p(""),
                _p(
                    "\n".join(
                        v
                        for v in (
                            invoice.buyer_address,
                            invoice.buyer_phone,
                            " ".join(x for x in (invoice.buyer_bank_name, invoice.buyer_bank_account) if x),
                        )
                        if v
                    )
                ),
            ],
        ],
        colWidths=[87 * mm, 87 * mm],
    )
    parties.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey)])
    )
    story += [parties, Spacer(1, 6 * mm)]

    rows = [[_p("项目 Item"), _p("数量 Qty"), _p("单位 Unit"), _p("单价 Unit price"), _p("金额 Amount")]]
    for line in invoice.lines.all():
        rows.append(
            [
                _p(line.description),
                _p(f"{line.quantity.normalize():f}"),
                _p(line.unit),
                _p(_money(line.unit_price, currency)),
                _p(_money(line.amount, currency)),
            ]
        )
    vat_percent = f"{(invoice.vat_rate * 100).normalize():f}%"
    rows += [
        ["", "", "", _p("不含税金额 Net"), _p(_money(invoice.net, currency))],
        ["", "", "", _p(f"增值税 VAT {vat_percent}"), _p(_money(invoice.vat, currency))],
        ["", "", "", _p("价税合计 Total"), _p(_money(invoice.gross, currency))],
    ]
    lines = Table(rows, colWidths=[70 * mm, 20 * mm, 16 * mm, 34 * mm, 34 * mm], repeatRows=1)
    lines.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
                ("LINEABOVE", (3, -3), (-1, -3), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [lines, Spacer(1, 4 * mm)]
    for note in invoice.notes or []:
        story.append(_p(note, SMALL))
    credit_notes = list(invoice.credit_notes.all())
    if credit_notes:
        # Bilingual like the rest of the PDF: the document is the same whatever the viewer's language.
        story += [Spacer(1, 4 * mm), _p("红字冲销 / Credit notes")]
        for note in credit_notes:
            story.append(
                _p(
                    f"{note.number} {note.issued_at:%Y-%m-%d}: {_money(note.gross, currency)} "
                    f"(不含税 net {_money(note.net, currency)}, 增值税 VAT {_money(note.vat, currency)}) "
                    f"— {note.reason}",
                    SMALL,
                )
            )
    story += [
        Spacer(1, 6 * mm),
        _p("对公转账付款信息 / Payment by bank transfer"),
        _p(f"户名 Account name: {bank['account_name_zh']} / {bank['account_name']}"),
        _p(f"开户行 Bank: {bank['bank_zh']} / {bank['bank']}"),
        _p(f"账号 Account: {bank['account_number']}    SWIFT: {bank['swift']}"),
        _p(f"付款附言 Payment reference (required): {invoice.payment_reference}"),
        _p(f"应付金额 Amount due: {_money(amount_due(invoice), currency)}    到期日 Due: {invoice.due_at:%Y-%m-%d}"),
        Spacer(1, 4 * mm),
        _p(
            "增值税发票由服务商另行开具。 The VAT fapiao is issued separately by the provider. "
            "Spindle collects payment on the provider's behalf.",
            SMALL,
        ),
    ]
    doc.build(story)
    return buffer.getvalue()
