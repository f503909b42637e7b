"""Apple Wallet: pass templates, the pass-type certificate and each ticket's `.pkpass`, through the HTTP API.

A self-signed CA stands in for Apple's WWDR intermediate (`wallet_certs`); a downloaded pass is unzipped, every
manifest hash recomputed, the detached PKCS#7 signature verified by `openssl smime -verify` against that CA,
and the barcode checked as the ticket's signed QR.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile

import pytest
from PIL import Image
from smtp_server import make_tickets
from wallet_certs import PASS_TYPE, TEAM, configure_wallet, make_pass_certificate

PKPASS = "application/vnd.apple.pkpass"


def unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def verify_signature(files: dict[str, bytes], ca_pem: str, tmp_path) -> subprocess.CompletedProcess:
    """`openssl smime -verify` of the pass's detached DER signature over manifest.json, trusting only `ca_pem`."""
    (tmp_path / "manifest.json").write_bytes(files["manifest.json"])
    (tmp_path / "signature").write_bytes(files["signature"])
    (tmp_path / "ca.pem").write_text(ca_pem)
    return subprocess.run(["openssl", "smime", "-verify", "-binary", "-inform", "DER", "-in", "signature",
                           "-content", "manifest.json", "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null"],
                          cwd=tmp_path, capture_output=True, text=True, check=False)


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def png_bytes(size=(300, 300), colour=(200, 30, 60, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def certificate():
    return make_pass_certificate()


@pytest.fixture
def owned(tenant):
    """A customer of `tenant` and one valid ticket of theirs (event in Europe/Paris, 14 Mar 2031 18:30 UTC)."""
    fan = tenant.customer(name="Zoë Holder")
    _, tickets = make_tickets(tenant.orgid, 1, email_to=fan.email, name="Zoë Holder", customer_id=fan.customer_id)
    return fan, tickets[0]


def test_a_ticket_pass_is_signed_hashed_and_carries_the_ticket(tenant, owned, certificate, tmp_path):
    from core import db as database
    from core.models import Org, Ticket
    from core.services import qr

    fan, ticket = owned
    template = configure_wallet(tenant, certificate, organization_name="Jazz Club", logo_text="Jazz",
                                background_color="#102030", foreground_color="#FFFFFF", label_color="#aabbcc",
                                front_fields=["event_name", "date", "venue", "ticket_type"], back_fields=["holder"])
    logo = tenant.staff.put(f"/wallet-templates/{template['id']}/logo", data={"image": (io.BytesIO(png_bytes(
        (640, 200))), "logo.png")}, content_type="multipart/form-data")
    assert logo.status_code == 200, logo.get_json()
    assert logo.get_json()["data"]["logo"]["renditions"] == {"1x": {"width": 160, "height": 50},
                                                             "2x": {"width": 320, "height": 100}}

    answer = fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass")
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == PKPASS
    assert f"ticket-{ticket.id}.pkpass" in answer.headers["Content-Disposition"]
    files = unzip(answer.data)
    assert set(files) == {"pass.json", "icon.png", "icon@2x.png", "logo.png", "logo@2x.png", "manifest.json",
                          "signature"}

    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name  # noqa: S324 - Apple's manifest is SHA-1
    verified = verify_signature(files, certificate.ca, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr
    altered = {**files, "manifest.json": files["manifest.json"].replace(b"}", b', "x": "0"}')}
    assert verify_signature(altered, certificate.ca, tmp_path / "..").returncode != 0
    other_ca = make_pass_certificate().ca
    assert verify_signature(files, other_ca, tmp_path).returncode != 0

    body = json.loads(files["pass.json"])
    assert (body["formatVersion"], body["passTypeIdentifier"], body["teamIdentifier"]) == (1, PASS_TYPE, TEAM)
    assert body["serialNumber"] == ticket.id and body["voided"] is False
    assert (body["organizationName"], body["logoText"]) == ("Jazz Club", "Jazz")
    assert body["description"] == "Ticket for Concert de Jazz"
    assert (body["backgroundColor"], body["foregroundColor"], body["labelColor"]) == (
        "rgb(16, 32, 48)", "rgb(255, 255, 255)", "rgb(170, 187, 204)")
    assert body["relevantDate"] == "2031-03-14T19:30:00+01:00"   # 18:30 UTC in the event's Europe/Paris
    layout = body["eventTicket"]
    assert [f["key"] for f in layout["primaryFields"]] == ["event"]
    assert [f["key"] for f in layout["secondaryFields"]] == ["date", "venue"]
    assert [f["key"] for f in layout["auxiliaryFields"]] == ["ticketType"]
    assert [f["key"] for f in layout["backFields"]] == ["holder"]
    date = layout["secondaryFields"][0]
    assert date["value"] == "2031-03-14T19:30:00+01:00" and date["ignoresTimeZone"] is True
    assert layout["primaryFields"][0]["value"] == "Concert de Jazz"
    assert layout["secondaryFields"][1]["value"].startswith("Salle Pleyel\n252 Rue du Faubourg")
    assert layout["auxiliaryFields"][0]["value"] == "VIP"
    assert layout["backFields"][0]["value"] == f"Zoë Holder <{fan.email}>"

    [barcode] = body["barcodes"]
    assert barcode["format"] == "PKBarcodeFormatQR" and body["barcode"] == barcode
    with database.db.connection_context():
        org, row = Org.get_by_id(tenant.orgid), Ticket.get_by_id(ticket.id)
        assert barcode["message"] == qr.payload_for(org, row)
        claims = qr.verify_payload(org.signing_public_key, barcode["message"])
    assert claims.ticket_id == ticket.id and claims.matches_event(row.event_id)
    scanned = tenant.staff.post("/events/tickets/validate", json={"qrPayload": barcode["message"]})
    assert scanned.status_code == 200 and scanned.get_json()["valid"] is True, scanned.get_json()

    assert png_size(files["icon.png"]) == (29, 29) and png_size(files["icon@2x.png"]) == (58, 58)  # generated
    assert png_size(files["logo.png"]) == (160, 50) and png_size(files["logo@2x.png"]) == (320, 100)
    with Image.open(io.BytesIO(files["icon@2x.png"])) as icon:
        assert icon.convert("RGB").getpixel((1, 1)) == (16, 32, 48)   # the template's background colour


def test_staff_and_the_signed_link_get_the_same_pass_and_a_cancelled_ticket_is_voided(tenant, owned, certificate,
                                                                                       app):
    from core import db as database
    from core.models import Org, Ticket
    from core.services.ticket_pdf import pdf_link
    from core.services.wallet_passes import WALLET_LINK_PATH, wallet_link

    fan, ticket = owned
    configure_wallet(tenant, certificate)
    staff_pass = unzip(tenant.staff.get(f"/events/tickets/{ticket.id}/wallet.pkpass").data)
    with app.app_context(), database.db.connection_context():
        org, row = Org.get_by_id(tenant.orgid), Ticket.get_by_id(ticket.id)
        link, pdf = wallet_link(org, row), pdf_link(org, row)
    path = link.split("://", 1)[1].split("/", 1)[1]
    anyone = app.test_client()
    linked = anyone.get("/" + path)   # no orgid, no login
    assert linked.status_code == 200 and linked.mimetype == PKPASS
    assert json.loads(unzip(linked.data)["pass.json"]) == json.loads(staff_pass["pass.json"])
    token = path.rsplit("/", 1)[1]
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), pdf.rsplit("/", 1)[1], "nonsense"):
        refused = anyone.get(WALLET_LINK_PATH + bad)
        assert refused.status_code == 404 and refused.get_json()["type"] == "ticket_not_found"

    cancelled = tenant.staff.post(f"/events/tickets/{ticket.id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.get_json()
    voided = json.loads(unzip(fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").data)["pass.json"])
    assert voided["voided"] is True and voided["serialNumber"] == ticket.id


def test_a_refunded_ticket_is_voided(tenant, certificate):
    configure_wallet(tenant, certificate)
    _, [ticket] = make_tickets(tenant.orgid, 1)
    assert tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}).status_code == 200
    body = json.loads(unzip(tenant.staff.get(f"/events/tickets/{ticket.id}/wallet.pkpass").data)["pass.json"])
    assert body["voided"] is True


def test_without_certificate_or_template_the_answer_says_what_is_missing(tenant, owned, certificate):
    fan, ticket = owned
    missing = fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass")
    assert missing.status_code == 409 and missing.get_json()["type"] == "wallet_not_configured"
    assert tenant.staff.get("/wallet/certificate").get_json()["type"] == "wallet_not_configured"
    assert tenant.staff.put("/wallet/certificate", json=certificate.body()).status_code == 200
    no_template = fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass")
    assert no_template.status_code == 409 and no_template.get_json()["type"] == "wallet_template_not_configured"
    made = tenant.staff.post("/wallet-templates", json={"name": "Not default"}).get_json()["data"]
    assert fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").status_code == 409
    assert tenant.staff.patch(f"/wallet-templates/{made['id']}", json={"is_default": True}).status_code == 200
    assert fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").status_code == 200
    assert tenant.staff.delete("/wallet/certificate").status_code == 204
    gone = fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass")
    assert gone.status_code == 409 and gone.get_json()["type"] == "wallet_not_configured"


def test_other_tenants_and_strangers_get_404(tenant, other_tenant, owned, certificate):
    fan, ticket = owned
    configure_wallet(tenant, certificate)
    other_template = configure_wallet(other_tenant)
    stranger = tenant.customer()
    for client, path in ((stranger, f"/client/events/tickets/{ticket.id}/wallet.pkpass"),
                         (other_tenant.staff, f"/events/tickets/{ticket.id}/wallet.pkpass"),
                         (other_tenant.customer(), f"/client/events/tickets/{ticket.id}/wallet.pkpass")):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.get_json()["type"] == "ticket_not_found", path
    assert tenant.guest.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").status_code == 401
    seen = tenant.staff.get(f"/wallet-templates/{other_template['id']}")
    assert seen.status_code == 404 and seen.get_json()["type"] == "wallet_template_not_found"
    for method in ("patch", "delete"):
        kwargs = {"json": {"name": "Mine"}} if method == "patch" else {}
        assert getattr(tenant.staff, method)(f"/wallet-templates/{other_template['id']}", **kwargs).status_code == 404
    listed = tenant.staff.get("/wallet-templates").get_json()["data"]
    assert other_template["id"] not in {t["id"] for t in listed}
    foreign = tenant.staff.post("/ticket-configurations", json={"name": "X",
                                                                "wallet_template_id": other_template["public_id"]})
    assert foreign.status_code == 422 and foreign.get_json()["type"] == "wallet_template_not_found"


def test_the_ticket_configurations_template_is_used_before_the_default(tenant, owned, certificate):
    fan, ticket = owned
    configure_wallet(tenant, certificate, organization_name="Default Org")
    chosen = tenant.staff.post("/wallet-templates", json={"name": "VIP", "organization_name": "VIP Lounge",
                                                          "front_fields": ["holder"], "back_fields": []})
    chosen = chosen.get_json()["data"]
    unknown = tenant.staff.post("/ticket-configurations", json={"name": "VIP", "wallet_template_id": 4503599627370001})
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {
        "wallet_template_id": ["No such wallet template."]}
    configuration = tenant.staff.post("/ticket-configurations", json={
        "name": "VIP", "wallet_template_id": chosen["public_id"]})
    assert configuration.status_code == 201, configuration.get_json()
    configuration = configuration.get_json()["data"]
    assert configuration["wallet_template_id"] == chosen["public_id"]
    bad_patch = tenant.staff.patch(f"/ticket-configurations/{configuration['id']}",
                                   json={"wallet_template_id": chosen["public_id"] + 1})
    assert bad_patch.status_code == 422 and bad_patch.get_json()["type"] == "wallet_template_not_found"
    from core import db as database
    from core.models import Ticket, TicketType

    with database.db.connection_context():
        TicketType.update(configuration=configuration["id"]).where(
            TicketType.id == Ticket.get_by_id(ticket.id).ticket_type_id).execute()
    body = json.loads(unzip(fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").data)["pass.json"])
    assert body["organizationName"] == "VIP Lounge"
    assert [f["key"] for f in body["eventTicket"]["primaryFields"]] == ["holder"]
    assert body["eventTicket"]["backFields"] == [] and body["eventTicket"]["secondaryFields"] == []
    in_use = tenant.staff.delete(f"/wallet-templates/{chosen['id']}")
    assert in_use.status_code == 409 and in_use.get_json()["type"] == "wallet_template_in_use"
    assert tenant.staff.patch(f"/ticket-configurations/{configuration['id']}",
                              json={"wallet_template_id": None}).status_code == 200
    assert tenant.staff.delete(f"/wallet-templates/{chosen['id']}").status_code == 204
    body = json.loads(unzip(fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").data)["pass.json"])
    assert body["organizationName"] == "Default Org"


def test_templates_crud_default_flag_and_bad_input(tenant):
    staff = tenant.staff
    first = staff.post("/wallet-templates", json={"name": "A", "is_default": True}).get_json()["data"]
    assert first["front_fields"] == ["event_name", "date", "venue"]
    assert first["back_fields"] == ["holder", "ticket_type"]
    assert first["icon"] is None and first["logo"] is None and first["foreground_color"] is None
    second = staff.post("/wallet-templates", json={"name": "B", "is_default": True}).get_json()["data"]
    listed = {t["name"]: t for t in staff.get("/wallet-templates").get_json()["data"]}
    assert (listed["A"]["is_default"], listed["B"]["is_default"]) == (False, True)
    changed = staff.patch(f"/wallet-templates/{second['id']}", json={"background_color": "#ABCDEF"})
    assert changed.get_json()["data"]["background_color"] == "#abcdef"
    assert staff.get(f"/wallet-templates/{second['id']}").get_json()["data"]["background_color"] == "#abcdef"

    for body, field in (({"name": "C", "background_color": "red"}, "background_color"),
                        ({"name": "C", "front_fields": ["holder"], "back_fields": ["holder"]}, "back_fields"),
                        ({"name": "C", "front_fields": ["date", "date"]}, "front_fields"),
                        ({"name": "   "}, "name")):
        refused = staff.post("/wallet-templates", json=body)
        assert refused.status_code == 422 and refused.get_json()["type"] == "invalid_wallet_template", body
        assert field in refused.get_json()["errors"]
    for body in ({"name": "C", "front_fields": ["price"]}, {"name": "C", "colour": "#000000"}, {}):
        refused = staff.post("/wallet-templates", json=body)
        assert refused.status_code == 422 and refused.get_json()["type"] == "validation_error", body
    assert len(staff.get("/wallet-templates").get_json()["data"]) == 2   # nothing was made

    assert staff.delete(f"/wallet-templates/{first['id']}").status_code == 204
    assert staff.get(f"/wallet-templates/{first['id']}").status_code == 404


def test_images_are_png_only_and_stored_at_apples_sizes(tenant, owned, certificate):
    fan, ticket = owned
    template = configure_wallet(tenant, certificate)
    path = f"/wallet-templates/{template['id']}/icon"
    jpeg = io.BytesIO()
    Image.new("RGB", (100, 100), "blue").save(jpeg, format="JPEG")
    for data, status, kind in ((jpeg.getvalue(), 415, "unsupported_image_format"),
                               (b"not an image at all", 415, "not_an_image"),
                               (png_bytes()[:60], 422, "corrupt_image")):
        refused = tenant.staff.put(path, data={"image": (io.BytesIO(data), "icon.png")},
                                   content_type="multipart/form-data")
        assert (refused.status_code, refused.get_json()["type"]) == (status, kind)
    missing = tenant.staff.put(path, data={"file": (io.BytesIO(png_bytes()), "icon.png")},
                               content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.get_json()["type"] == "validation_error"
    assert tenant.staff.get(f"/wallet-templates/{template['id']}").get_json()["data"]["icon"] is None

    uploaded = tenant.staff.put(path, data={"image": (io.BytesIO(png_bytes((300, 150), (0, 128, 0, 255))), "i.png")},
                                content_type="multipart/form-data")
    assert uploaded.status_code == 200, uploaded.get_json()
    assert uploaded.get_json()["data"]["icon"]["renditions"] == {"1x": {"width": 29, "height": 15},
                                                                 "2x": {"width": 58, "height": 29}}
    files = unzip(fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").data)
    assert png_size(files["icon.png"]) == (29, 15) and png_size(files["icon@2x.png"]) == (58, 29)
    with Image.open(io.BytesIO(files["icon@2x.png"])) as icon:
        assert icon.convert("RGB").getpixel((10, 10)) == (0, 128, 0)
    assert "logo.png" not in files
    removed = tenant.staff.delete(path)
    assert removed.status_code == 200 and removed.get_json()["data"]["icon"] is None
    files = unzip(fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").data)
    assert png_size(files["icon.png"]) == (29, 29)   # the generated one again


def test_the_certificate_is_checked_on_upload_and_never_shown(tenant):
    from test_secrets_at_rest import rows_containing

    from core import db as database

    good = make_pass_certificate()
    staff = tenant.staff
    expired = make_pass_certificate(days=2, starts_in_days=-10)
    future = make_pass_certificate(starts_in_days=5)
    other = make_pass_certificate()
    unencrypted = make_pass_certificate(password=None)
    cases = [
        (good.body(certificate="-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"), "invalid_certificate"),
        (good.body(wwdrCertificate="garbage"), "invalid_certificate"),
        (good.body(privateKey="garbage"), "invalid_private_key"),
        (good.body(password="wrong"), "invalid_private_key"),
        (good.body(password=None), "invalid_private_key"),
        (unencrypted.body(password="not needed"), "invalid_private_key"),
        (good.body(privateKey=other.private_key, password=other.password), "certificate_key_mismatch"),
        (expired.body(), "certificate_expired"),
        (future.body(), "certificate_not_yet_valid"),
        (good.body(wwdrCertificate=other.ca), "certificate_not_issued_by_wwdr"),
        (good.body(passTypeIdentifier="pass.com.example.other"), "certificate_identifier_mismatch"),
        (good.body(teamIdentifier="ZZZZZ99999"), "certificate_identifier_mismatch"),
        (good.body(passTypeIdentifier="com.example"), "validation_error"),
        (good.body(teamIdentifier="short"), "validation_error"),
    ]
    for body, kind in cases:
        refused = staff.put("/wallet/certificate", json=body)
        assert refused.status_code == 422 and refused.get_json()["type"] == kind, (kind, refused.get_json())
    assert staff.get("/wallet/certificate").status_code == 409   # nothing was stored

    assert staff.put("/wallet/certificate", json=unencrypted.body(password=None)).status_code == 200
    stored = staff.put("/wallet/certificate", json=good.body())
    assert stored.status_code == 200, stored.get_json()
    shown = staff.get("/wallet/certificate")
    assert shown.status_code == 200
    view = shown.get_json()
    assert (view["passTypeIdentifier"], view["teamIdentifier"]) == (PASS_TYPE, TEAM)
    assert f"UID={PASS_TYPE}" in view["subject"] and len(view["fingerprint"]) == 64
    text = shown.get_data(as_text=True) + stored.get_data(as_text=True)
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text and good.password not in text
    key_line = good.private_key.splitlines()[1]
    certificate_line = good.certificate.splitlines()[1]
    with database.db.connection_context():
        assert rows_containing(key_line) == [] and rows_containing(certificate_line) == []
        assert rows_containing(good.password) == []

    customer = tenant.customer()
    assert customer.put("/wallet/certificate", json=good.body()).status_code == 403
    assert customer.get("/wallet/certificate").status_code == 403


def test_public_api_v2_wallet_templates_use_numeric_ids(tenant, other_tenant):
    tenant.enable("public_api_v2")
    other_tenant.enable("public_api_v2")
    key = {"Authorization": f"Token {tenant.admin_api_key}"}
    client = tenant.guest.as_token(None)
    client.orgid = None
    made = client.post("/api/public/v2/wallet_templates", headers=key, json={"name": "V2", "logo_text": "Hi"})
    assert made.status_code == 201, made.get_json()
    data = made.get_json()["data"]
    assert isinstance(data["id"], int) and "public_id" not in data and data["logo_text"] == "Hi"
    path = f"/api/public/v2/wallet_templates/{data['id']}"
    assert client.get(path, headers=key).get_json()["data"]["name"] == "V2"
    assert client.patch(path, headers=key, json={"name": "V2b"}).get_json()["data"]["name"] == "V2b"
    page = client.get("/api/public/v2/wallet_templates", headers=key).get_json()
    assert [t["id"] for t in page["data"]] == [data["id"]]
    image = client.put(f"{path}/logo", headers=key, data={"image": (io.BytesIO(png_bytes()), "l.png")},
                       content_type="multipart/form-data")
    assert image.status_code == 200 and image.get_json()["data"]["logo"]["renditions"]["1x"] == {"width": 50,
                                                                                                   "height": 50}
    ticket_type = client.post("/api/public/v2/ticket_types", headers=key,
                              json={"name": "T", "wallet_template_id": data["id"]})
    assert ticket_type.status_code == 201 and ticket_type.get_json()["data"]["wallet_template_id"] == data["id"]
    other_key = {"Authorization": f"Token {other_tenant.admin_api_key}"}
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"name": "x"}} if method == "patch" else {}
        hidden = getattr(client, method)(path, headers=other_key, **kwargs)
        assert hidden.status_code == 404 and hidden.get_json()["type"] == "wallet_template_not_found"
    in_use = client.delete(path, headers=key)
    assert in_use.status_code == 409 and in_use.get_json()["type"] == "wallet_template_in_use"


def test_migration_19_creates_the_wallet_tables_an_older_database_lacks_and_is_idempotent(tenant, owned):
    from core import db as database
    from core.migrations import m0019_wallet
    from core.models import WalletCertificate, WalletTemplate

    fan, ticket = owned
    with database.db.connection_context():
        database.db.drop_tables([WalletTemplate, WalletCertificate])
        m0019_wallet.upgrade()
        m0019_wallet.upgrade()  # idempotent
        assert WalletTemplate.table_exists() and WalletCertificate.table_exists()
        indexes = {i.name: i for i in database.db.get_indexes("wallet_template")}
        assert indexes["wallet_template_public_id"].unique
        assert {i.name: i for i in database.db.get_indexes("wallet_certificate")}["wallet_certificate_org_id"].unique
    configure_wallet(tenant)
    assert fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass").status_code == 200


def test_a_multipart_part_without_a_readable_name_is_a_422(tenant):
    template = tenant.staff.post("/wallet-templates", json={"name": "T"}).get_json()["data"]
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data\r\n\r\n{{}}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="i.png"\r\n\r\n=\r\n'
            f'--{boundary}--\r\n').encode()
    refused = tenant.staff.put(f"/wallet-templates/{template['id']}/icon", data=body,
                               content_type=f"multipart/form-data; boundary={boundary}")
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"form": {"": ["Unknown field."]}}


def test_the_event_settings_template_comes_after_the_configurations_and_before_the_default(tenant, other_tenant,
                                                                                            owned, certificate):
    from core import db as database
    from core.models import Ticket

    fan, ticket = owned
    configure_wallet(tenant, certificate, organization_name="Default Org")
    with database.db.connection_context():
        event_id = Ticket.get_by_id(ticket.id).event_id
    setting_path = f"/events/{event_id}/setting"
    foreign = configure_wallet(other_tenant)
    for unknown in (foreign["public_id"], 4503599627370001):
        refused = tenant.staff.patch(setting_path, json={"setting": {"wallet_template_id": unknown}})
        assert refused.status_code == 422 and refused.get_json()["type"] == "wallet_template_not_found"
        assert refused.get_json()["errors"] == {"wallet_template_id": ["No such wallet template."]}
    festival = tenant.staff.post("/wallet-templates", json={"name": "Festival",
                                                            "organization_name": "Festival Org"}).get_json()["data"]
    chosen = tenant.staff.patch(setting_path, json={"setting": {"wallet_template_id": festival["public_id"]}})
    assert chosen.status_code == 200 and chosen.get_json()["data"]["wallet_template_id"] == festival["public_id"]

    def organisation() -> str:
        answer = fan.get(f"/client/events/tickets/{ticket.id}/wallet.pkpass")
        return json.loads(unzip(answer.data)["pass.json"])["organizationName"]

    assert organisation() == "Festival Org"
    in_use = tenant.staff.delete(f"/wallet-templates/{festival['id']}")
    assert in_use.status_code == 409 and in_use.get_json()["type"] == "wallet_template_in_use"
    assert in_use.get_json()["eventSettings"] == 1

    vip = tenant.staff.post("/wallet-templates", json={"name": "VIP", "organization_name": "VIP Org"}).get_json()
    configuration = tenant.staff.post("/ticket-configurations", json={
        "name": "VIP", "wallet_template_id": vip["data"]["public_id"]}).get_json()["data"]
    from core.models import TicketType

    with database.db.connection_context():
        TicketType.update(configuration=configuration["id"]).where(
            TicketType.id == Ticket.get_by_id(ticket.id).ticket_type_id).execute()
    assert organisation() == "VIP Org"
    assert tenant.staff.patch(f"/ticket-configurations/{configuration['id']}",
                              json={"wallet_template_id": None}).status_code == 200
    assert tenant.staff.patch(setting_path, json={"setting": {"wallet_template_id": None}}).status_code == 200
    assert organisation() == "Default Org"
    assert tenant.staff.delete(f"/wallet-templates/{festival['id']}").status_code == 204
