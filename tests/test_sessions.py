"""Customer sessions can be ended: log out everywhere, or a password change (which keeps only the new token)."""

from __future__ import annotations


def login(tenant, email, password):
    return tenant.guest.post("/client/auth/login", json={"email": email, "password": password})


def assert_revoked(client) -> None:
    response = client.get("/auth/me")
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["type"] == "session_revoked"


def test_logout_everywhere_ends_every_token_and_a_new_login_works(tenant):
    fan = tenant.customer(password="correct-horse-9")
    phone = fan.as_token(login(tenant, fan.email, "correct-horse-9").get_json()["token"])
    other = tenant.customer()
    assert phone.get("/auth/me").status_code == 200
    assert fan.post("/client/auth/logout-all").status_code == 204
    assert_revoked(fan)
    assert_revoked(phone)
    assert other.get("/auth/me").status_code == 200  # another customer's sessions live on
    fresh = fan.as_token(login(tenant, fan.email, "correct-horse-9").get_json()["token"])
    assert fresh.get("/auth/me").get_json()["email"] == fan.email


def test_password_change_ends_other_sessions_and_keeps_the_new_one(tenant):
    fan = tenant.customer(password="correct-horse-9")
    laptop = fan.as_token(login(tenant, fan.email, "correct-horse-9").get_json()["token"])
    wrong = fan.post("/client/auth/password", json={"currentPassword": "nope-nope", "newPassword": "battery-staple-7"})
    assert wrong.status_code == 403 and wrong.get_json()["type"] == "wrong_password"
    assert laptop.get("/auth/me").status_code == 200  # a refused change ends nothing
    changed = fan.post("/client/auth/password",
                       json={"currentPassword": "correct-horse-9", "newPassword": "battery-staple-7"})
    assert changed.status_code == 200, changed.get_json()
    assert_revoked(fan)
    assert_revoked(laptop)
    assert fan.as_token(changed.get_json()["token"]).get("/auth/me").status_code == 200
    assert login(tenant, fan.email, "correct-horse-9").status_code == 401
    assert login(tenant, fan.email, "battery-staple-7").status_code == 200


def test_session_endpoints_need_a_customer_and_check_input(tenant):
    assert tenant.guest.post("/client/auth/logout-all").status_code == 401
    assert tenant.staff.post("/client/auth/logout-all").status_code == 403
    fan = tenant.customer()
    short = fan.post("/client/auth/password", json={"currentPassword": "correct-horse-9", "newPassword": "short"})
    assert short.status_code == 422
