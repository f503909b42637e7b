"""Apple Wallet passes: a ticket as a signed `.pkpass` (pass.json, icon and logo PNGs, manifest.json with the
SHA-1 of every file, and `signature`, a detached PKCS#7 of the manifest under the tenant's pass certificate),
and the signed link an e-mail can carry to download it.

Pure rendering of stored rows into bytes: never changes a ticket, never writes a file, and puts nothing secret
in a pass beyond the ticket's own QR text (what the holder shows at the door). A rotating QR ticket's pass has no
barcode (a fixed code is refused at the door): it says to open the ticket's page, with its link.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from PIL import Image, ImageDraw, ImageFont

from core.errors import Conflict
from core.models import Org, Ticket, WalletTemplate
from core.services import qr
from core.services.event_settings import setting_of
from core.services.ticket_links import signed_ticket_link, ticket_for_signed_link
from core.services.ticket_pdf import LIVE_CODE_NOTE, ticket_card
from core.services.wallet_certificates import SigningMaterial, signing_material
from core.services.wallet_templates import IMAGE_SLOTS, default_template, image_files, template_by_public_id
from core.timefmt import as_utc

PKPASS_MIMETYPE = "application/vnd.apple.pkpass"
WALLET_LINK_PATH = "/tickets/wallet/"
_WALLET_PURPOSE = "ticket-wallet"
DEFAULT_BACKGROUND = "#1f2937"
DEFAULT_FOREGROUND = "#ffffff"
# Field name (`core.services.wallet_templates.PASS_FIELDS`) -> (pass.json key, label).
FIELD_LABELS = {"event_name": ("event", "EVENT"), "date": ("date", "DATE"), "venue": ("venue", "VENUE"),
                "holder": ("holder", "HOLDER"), "ticket_type": ("ticketType", "TICKET TYPE")}


def template_for(org: Org, ticket: Ticket) -> WalletTemplate:
    """The template a ticket's pass uses: its ticket type's configuration's `wallet_template_id`, else its
    event's setting's (`core.services.event_settings.setting_of`: the event's own, else its parent's), else the
    tenant's default template; 409 `wallet_template_not_configured` when none applies."""
    configuration = ticket.ticket_type.configuration
    chosen = template_by_public_id(org, configuration.wallet_template_id) if configuration is not None else None
    if chosen is None:
        setting = setting_of(org, ticket.event)
        chosen = template_by_public_id(org, setting.wallet_template_id) if setting is not None else None
    chosen = chosen or default_template(org)
    if chosen is None:
        raise Conflict("No Apple Wallet template applies to this ticket: name one on its ticket configuration or "
                       "its event's setting, or make a template the default.", type="wallet_template_not_configured")
    return chosen


def pkpass_filename(ticket: Ticket) -> str:
    """The file name a ticket's pass is served under."""
    return f"ticket-{ticket.id}.pkpass"


def _rgb(colour: str | None) -> str | None:
    """`#rrggbb` as pass.json's `rgb(r, g, b)`."""
    if not colour:
        return None
    return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


def _local_iso(value, tz: str) -> str:
    """A stored UTC datetime as ISO 8601 with the offset of `tz` (the event's), e.g. 2031-03-14T19:30:00+01:00."""
    return as_utc(value).astimezone(ZoneInfo(tz or "UTC")).isoformat()


def _field_values(ticket: Ticket, card: dict) -> dict[str, dict]:
    """Each pass field as pass.json shows it: the event's date is a date field in the event's time zone (shown
    as that local time wherever the phone is); empty values are left out."""
    event = ticket.event
    texts = {"event_name": card["event"], "venue": card["where"], "holder": card["holder"],
             "ticket_type": card["ticketType"]}
    shown = {}
    for name, value in texts.items():
        if value:
            key, label = FIELD_LABELS[name]
            shown[name] = {"key": key, "label": label, "value": value}
    key, label = FIELD_LABELS["date"]
    shown["date"] = {"key": key, "label": label, "value": _local_iso(event.starts_at, event.tz),
                     "dateStyle": "PKDateStyleMedium", "timeStyle": "PKDateStyleShort", "ignoresTimeZone": True}
    return shown


def _layout(template: WalletTemplate, values: dict[str, dict]) -> dict:
    """The `eventTicket` structure: the template's front fields in order (the first is primary, the next two
    secondary, the rest auxiliary), its back fields on the back."""
    front = [values[name] for name in template.front_fields if name in values]
    back = [values[name] for name in template.back_fields if name in values]
    return {"primaryFields": front[:1], "secondaryFields": front[1:3], "auxiliaryFields": front[3:],
            "backFields": back}


def pass_json(org: Org, ticket: Ticket, template: WalletTemplate, material: SigningMaterial) -> dict:
    """The pass.json of `ticket`: identifiers, the template's texts and colours, the ticket's fields, its QR
    (exactly the text its printed QR encodes, `qr.scan_text`), the event's start as `relevantDate`, and
    `voided` when its QR no longer admits (cancelled, refunded, transferred). A rotating QR ticket's pass has
    no barcode: a front field and a back field say to open its ticket page (`ticketPage`, the link)."""
    card = ticket_card(org, ticket)
    layout = _layout(template, _field_values(ticket, card))
    body = {
        "formatVersion": 1,
        "passTypeIdentifier": material.pass_type_identifier,
        "teamIdentifier": material.team_identifier,
        "serialNumber": ticket.id,
        "organizationName": template.organization_name or org.name,
        "description": template.description or f"Ticket for {card['event']}",
        "relevantDate": _local_iso(ticket.event.starts_at, ticket.event.tz),
        "eventTicket": layout,
        "voided": bool(card["void"]),
    }
    if card["rotating"]:
        layout["auxiliaryFields"].append({"key": "liveCode", "label": "ENTRY", "value": "Open your ticket page"})
        layout["backFields"].insert(0, {"key": "ticketPage", "label": "LIVE QR CODE",
                                        "value": f"{LIVE_CODE_NOTE} {card['ticketPage']}"})
    else:
        barcode = _barcode(qr.scan_text(org, ticket))
        body.update(barcodes=[barcode], barcode=barcode)   # `barcode`: iOS 8 and older read only this one
    if template.logo_text:
        body["logoText"] = template.logo_text
    for key, colour in (("foregroundColor", template.foreground_color),
                        ("backgroundColor", template.background_color), ("labelColor", template.label_color)):
        if colour:
            body[key] = _rgb(colour)
    return body


def _barcode(message: str) -> dict:
    """A pass's QR barcode of `message` (ISO-8859-1 when it fits, else UTF-8)."""
    try:
        message.encode("iso-8859-1")
        encoding = "iso-8859-1"
    except UnicodeEncodeError:
        encoding = "utf-8"
    return {"format": "PKBarcodeFormatQR", "message": message, "messageEncoding": encoding}


@functools.lru_cache(maxsize=256)
def default_icon(background: str, foreground: str, letter: str, size: int) -> bytes:
    """A generated icon (Apple requires one): `letter` centred on a `background` square, as PNG."""
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(size * 0.6))
    draw.text((size / 2, size / 2), letter, fill=foreground, font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pass_images(org: Org, template: WalletTemplate) -> dict[str, bytes]:
    """icon.png and icon@2x.png (the template's, else generated from its colours and the organisation's
    initial), and logo.png / logo@2x.png when the template has a logo."""
    files = image_files(org.id, template.icon, "icon")
    if "icon.png" not in files:
        letter = (template.organization_name or org.name or "?").strip()[:1].upper() or "?"
        background = template.background_color or DEFAULT_BACKGROUND
        foreground = template.foreground_color or DEFAULT_FOREGROUND
        files = {"icon.png" if scale == "1x" else f"icon@{scale}.png": default_icon(background, foreground, letter,
                                                                                    box[0])
                 for scale, box in IMAGE_SLOTS["icon"].items()}
    return {**files, **image_files(org.id, template.logo, "logo")}


def manifest(files: dict[str, bytes]) -> bytes:
    """manifest.json: each file's name and the hex SHA-1 of its bytes."""
    return json.dumps({name: hashlib.sha1(data).hexdigest() for name, data in files.items()},  # noqa: S324
                      sort_keys=True).encode()


def sign_manifest(manifest_bytes: bytes, material: SigningMaterial) -> bytes:
    """The `signature` file: a detached PKCS#7 (DER) of the manifest's bytes, signed with the pass certificate
    and key (SHA-256), carrying the WWDR intermediate certificate."""
    builder = (pkcs7.PKCS7SignatureBuilder().set_data(manifest_bytes)
               .add_signer(material.certificate, material.private_key, hashes.SHA256())
               .add_certificate(material.wwdr))
    return builder.sign(serialization.Encoding.DER,
                        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])


def render_pkpass(org: Org, ticket: Ticket) -> bytes:
    """The ticket's `.pkpass` (a ZIP). 409 `wallet_not_configured` when the tenant has no pass certificate,
    `wallet_certificate_unusable` when it cannot be used, `wallet_template_not_configured` when no template
    applies (`template_for`)."""
    material = signing_material(org)
    template = template_for(org, ticket)
    files = {"pass.json": json.dumps(pass_json(org, ticket, template, material), ensure_ascii=False).encode(),
             **pass_images(org, template)}
    manifest_bytes = manifest(files)
    files["manifest.json"] = manifest_bytes
    files["signature"] = sign_manifest(manifest_bytes, material)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def wallet_link(org: Org, ticket: Ticket) -> str:
    """A signed link (`<public_url>/tickets/wallet/<token>`) that downloads `ticket`'s pass without a login
    (`core.services.ticket_links`), for an e-mail."""
    return signed_ticket_link(_WALLET_PURPOSE, WALLET_LINK_PATH, org, ticket)


def ticket_for_wallet_link(token: str) -> tuple[Org, Ticket]:
    """The tenant and ticket a `wallet_link` token names; 404 `ticket_not_found` for a forged, altered, expired
    or PDF link's token, or one whose ticket is gone."""
    return ticket_for_signed_link(_WALLET_PURPOSE, token)
