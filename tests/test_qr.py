"""Signed QR tickets: the PNG decodes to a payload that verifies offline, stays small, and revokes."""

from __future__ import annotations

import base64
import io

import qrcode
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from ticket_factory import issue, make_event

from core.services import qr


def decode_png(png: bytes) -> str:
    """The text of the single QR code in a PNG, read by zxing-cpp."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def owned_ticket(tenant, **fields):
    fan = tenant.customer()
    event, ticket_type = make_event(tenant, **fields)
    (ticket,) = issue(tenant, ticket_type, email=fan.email, customer_id=fan.customer_id)
    return fan, event, ticket


def test_customer_qr_png_decodes_to_a_payload_that_verifies_offline(tenant):
    fan, event, ticket = owned_ticket(tenant)
    response = fan.get(f"/client/events/tickets/{ticket.id}/qr")
    assert response.status_code == 200 and response.mimetype == "image/png"
    text = decode_png(response.data)
    assert text.startswith("BO1:")

    keys = tenant.staff.get("/events/scanner/keys").get_json()
    assert keys["algorithm"] == "Ed25519" and keys["org"] == tenant.orgid
    assert "BEGIN PUBLIC KEY" in keys["publicKey"]["pem"]
    claims = qr.verify_payload(keys["publicKey"]["raw"], text)
    assert claims.ticket_id == ticket.id and claims.secret_version == 1 and claims.matches_event(event.id)
    # A door device with only the raw key can check the signature itself.
    raw = qr.b45decode(text[4:])
    Ed25519PublicKey.from_public_bytes(base64.b64decode(keys["publicKey"]["raw"])).verify(raw[27:], raw[:27])

    check = tenant.staff.post("/events/tickets/validate", json={"qrPayload": text}).get_json()
    assert check["valid"] is True and check["ticket"]["id"] == ticket.id


def test_payload_fits_a_small_qr_version_at_level_m(tenant):
    _, _, ticket = owned_ticket(tenant)
    text = qr.payload_for(tenant.org, ticket)
    assert qrcode.util.QRData(text).mode == qrcode.util.MODE_ALPHA_NUM
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    code.add_data(text)
    assert code.best_fit() <= 10
    assert qr.make_qr(text).version <= 6


def test_staff_qr_matches_customer_qr_and_other_customers_get_404(tenant):
    fan, _, ticket = owned_ticket(tenant)
    staff_png = tenant.staff.get(f"/events/tickets/{ticket.id}/qr")
    assert staff_png.status_code == 200
    assert decode_png(staff_png.data) == decode_png(fan.get(f"/client/events/tickets/{ticket.id}/qr").data)
    stranger = tenant.customer()
    assert stranger.get(f"/client/events/tickets/{ticket.id}/qr").status_code == 404
    assert tenant.guest.get(f"/client/events/tickets/{ticket.id}/qr").status_code == 401


def test_forged_garbage_and_foreign_payloads_are_invalid_never_500(tenant, other_tenant):
    _, _, ticket = owned_ticket(tenant)
    good = qr.payload_for(tenant.org, ticket)
    raw = bytearray(qr.b45decode(good[4:]))
    raw[-1] ^= 0x01
    forged = "BO1:" + qr.b45encode(bytes(raw))
    _, _, foreign_ticket = owned_ticket(other_tenant)
    foreign = qr.payload_for(other_tenant.org, foreign_ticket)
    cases = {forged: "forged", foreign: "forged", "hello": "unknown", "BO1:": "unknown",
             "BO1:" + "A" * 300: "unknown", good[:-5]: "unknown", "BO1:ÿÿ": "unknown"}
    for payload, reason in cases.items():
        response = tenant.staff.post("/events/tickets/validate", json={"qrPayload": payload})
        assert response.status_code == 200, payload
        assert response.get_json()["valid"] is False
        assert response.get_json()["reason"] == reason, payload
        scan = tenant.staff.post("/events/check-in", json={"qrPayload": payload, "scanPoint": "main"})
        assert scan.status_code == 422 and scan.get_json()["type"] == "invalid_qr"
    assert tenant.staff.post("/events/tickets/validate", json={"qrPayload": 12}).status_code == 422
    assert tenant.staff.post("/events/tickets/validate", json={}).status_code == 422


def test_qr_is_cached_per_secret_version_and_revoked_on_cancel(tenant):
    fan, _, ticket = owned_ticket(tenant)
    first = fan.get(f"/client/events/tickets/{ticket.id}/qr").data
    assert fan.get(f"/client/events/tickets/{ticket.id}/qr").data == first
    text = decode_png(first)
    assert tenant.staff.post(f"/events/tickets/{ticket.id}/cancel").status_code == 200
    gone = fan.get(f"/client/events/tickets/{ticket.id}/qr")
    assert gone.status_code == 409 and gone.get_json()["type"] == "ticket_revoked"
    check = tenant.staff.post("/events/tickets/validate", json={"qrPayload": text}).get_json()
    assert check == {**check, "valid": False, "reason": "revoked"}


def test_scanner_keys_are_staff_only(tenant):
    fan = tenant.customer()
    assert fan.get("/events/scanner/keys").status_code == 403
    assert tenant.guest.get("/events/scanner/keys").status_code == 401


def test_server_check_by_re_signing_agrees_with_public_key_verification(tenant, other_tenant, monkeypatch):
    """The server derives the deterministic signature again instead of verifying; both must accept and
    refuse exactly the same payloads (each check starts with nothing remembered)."""
    from core.memo import BoundedMemo

    _, event, ticket = owned_ticket(tenant)
    good = qr.payload_for(tenant.org, ticket)
    raw = qr.b45decode(good[4:])
    bumped = bytearray(raw)
    bumped[26] ^= 0x01  # secret version changed, old signature kept
    flipped = bytearray(raw)
    flipped[40] ^= 0x80  # one signature bit
    _, _, foreign_ticket = owned_ticket(other_tenant)
    payloads = {"genuine": good, "bumped": "BO1:" + qr.b45encode(bytes(bumped)),
                "flipped": "BO1:" + qr.b45encode(bytes(flipped)), "foreign": qr.payload_for(other_tenant.org,
                                                                                          foreign_ticket)}
    org = tenant.org
    for name, text in payloads.items():
        outcomes = []
        for private in (None, org.signing_private_key):
            monkeypatch.setattr(qr, "_VERIFIED", BoundedMemo(16))
            try:
                claims = qr.verify_payload(org.signing_public_key, text, private_key_b64=private)
                outcomes.append(("ok", claims.ticket_id, claims.secret_version))
            except qr.QrDecodeError as exc:
                outcomes.append((exc.reason,))
        assert outcomes[0] == outcomes[1], name
        assert outcomes[0][0] == ("ok" if name == "genuine" else "forged"), name
    assert qr.verify_payload(org.signing_public_key, good, private_key_b64=org.signing_private_key).matches_event(
        event.id)


def test_a_verified_text_is_remembered_and_a_failed_one_is_not(tenant, monkeypatch):
    from core.memo import BoundedMemo

    monkeypatch.setattr(qr, "_VERIFIED", BoundedMemo(16))
    _, _, ticket = owned_ticket(tenant)
    good = qr.payload_for(tenant.org, ticket)
    raw = bytearray(qr.b45decode(good[4:]))
    raw[-1] ^= 0x01
    forged = "BO1:" + qr.b45encode(bytes(raw))
    org = tenant.org
    first = qr.verify_payload(org.signing_public_key, good, private_key_b64=org.signing_private_key)
    assert qr.verify_payload(org.signing_public_key, good) is first  # no second signature check
    for _ in range(2):
        try:
            qr.verify_payload(org.signing_public_key, forged)
        except qr.QrDecodeError as exc:
            assert exc.reason == "forged"
        else:
            raise AssertionError("a forged text verified")
    assert len(qr._VERIFIED) == 1


def test_base45_round_trips_and_refuses_what_it_cannot_produce():
    import os

    for length in (0, 1, 2, 27, 91, 200):
        data = os.urandom(length)
        assert qr.b45decode(qr.b45encode(data)) == data
    assert qr.b45encode(b"ietf!") == "QED8WEX0" and qr.b45decode("QED8WEX0") == b"ietf!"  # RFC 9285 example
    for bad in ("GGW", "ZZZ", "abc", "A", "QED8WEX", "É12"):
        try:
            qr.b45decode(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
