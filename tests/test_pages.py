"""The attendee pages plugin (`plugins/pages`), over HTTP without a browser: the tenant index, the event page
(dates in the event's timezone, place and map link, sanitised description, schedule, offers with price, fee and
availability from the core), Open Graph tags, the calendar file, English and French, a tenant's own hostname,
the links the APIs show resolving to these pages, and tenants without the plugin or with other tenants' events."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from pages_world import PAST, concert, created, pages_tenant
from test_developers_api import key_call
from test_events import iso
from test_tenant_domains import add_domain

from core.models.base import utcnow


@pytest.fixture
def club(app):
    """A tenant with pages (and 002's developers API) enabled, and its concert."""
    tenant = pages_tenant(app, plugins=("pages", "offline", "developers_api"))
    tenant.event = concert(tenant)
    return tenant


def page(tenant, path: str, host: str | None = None, **headers):
    """A GET as a browser sends it: no `orgid`, no token."""
    client = tenant.app.test_client()
    return client.get(path, headers=headers, base_url=f"http://{host}" if host else "http://localhost")


def text(response) -> str:
    """The page's visible text, tags removed and spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


def test_the_event_page_shows_the_event_in_its_timezone_with_its_offers(club):
    event = club.event
    response = page(club, f"/e/{club.orgid}/{event['slug']}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html, shown = response.get_data(as_text=True), text(response)
    assert '<html lang="en">' in html and 'class="skip-link" href="#main"' in html and 'id="main"' in html
    start = dt.datetime.fromisoformat(event["start"]["utc"].replace("Z", "+00:00"))
    local = start.astimezone(ZoneInfo("Europe/Paris"))
    assert f"{local:%B} {local.day}, {local.year} at {local.hour % 12 or 12}:00 {'PM' if local.hour >= 12 else 'AM'}" \
        in shown
    assert "Salle Pleyel, Paris, FR" in shown
    assert 'href="https://www.openstreetmap.org/search?query=Salle+Pleyel%2C+Paris%2C+FR"' in html
    assert "<p>An evening of <strong>jazz</strong>.</p>" in html and "<script>alert" not in html
    assert "Free entry Free On sale · 50 left" in shown
    assert "Seated €25.00 + €1.50 service fee On sale · 100 left" in shown
    assert "Front row €60.00 Sold out" in shown
    late = dt.datetime.fromisoformat(
        next(t for t in club.staff.get(f"/events/{event['id']}/ticket-types").get_json()["data"]
             if t["name"] == "Late release")["saleStart"].replace("Z", "+00:00"))
    late = late.astimezone(local.tzinfo)
    assert "Late release €30.00 On sale from" in shown and f"{late:%B} {late.day}, {late.year}" in shown
    assert f'href="/e/{club.orgid}/{event["slug"]}.ics"' in html
    assert response.headers["Content-Language"] == "en"


def test_availability_is_the_client_apis(club):
    """Seats held by a pending booking and sold ones leave the page exactly as they leave the client API."""
    event = club.event
    types = {t["name"]: t for t in club.guest.get(f"/client/events/{event['id']}/ticket-types").get_json()["data"]}
    bought = club.guest.post("/client/events/tickets/purchase", json={
        "eventId": event["id"], "email": "a@example.com", "name": "A",
        "items": [{"ticketTypeId": types["Free entry"]["id"], "quantity": 3}]})
    assert bought.status_code == 201, bought.get_json()
    api = {t["name"]: t for t in club.guest.get(f"/client/events/{event['id']}/ticket-types").get_json()["data"]}
    assert api["Free entry"]["available"] == 47
    assert "Free entry Free On sale · 47 left" in text(page(club, f"/e/{club.orgid}/{event['slug']}"))


def test_a_sale_ending_within_two_days_is_announced(club):
    soon = concert(club, name="Last call", types=[
        {"name": "Door", "price": 10, "currency": "EUR", "inventory": 5,
         "sale_end": iso(utcnow() + dt.timedelta(hours=20))},
        {"name": "Gone", "price": 10, "currency": "EUR", "sale_end": iso(utcnow() - dt.timedelta(hours=1))}])
    shown = text(page(club, f"/e/{club.orgid}/{soon['slug']}"))
    assert "Door €10.00 Sale ends soon:" in shown and "· 5 left" in shown
    assert "Gone €10.00 Sale ended" in shown


def test_open_graph_and_twitter_tags_describe_the_event(club):
    html = page(club, f"/e/{club.orgid}/{club.event['slug']}").get_data(as_text=True)
    url = club.event["site_url"]
    for tag in ('<meta property="og:title" content="Concert de Jazz">', f'<meta property="og:url" content="{url}">',
                '<meta property="og:description" content="An evening of jazz.">',
                '<meta property="og:type" content="website">', '<meta name="twitter:card" content="summary">',
                f'<link rel="canonical" href="{url}">'):
        assert tag in html, tag


def test_the_calendar_file_has_the_event_in_utc(club):
    event = club.event
    response = page(club, f"/e/{club.orgid}/{event['slug']}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and body.endswith("END:VCALENDAR\r\n")
    start = event["start"]["utc"].replace("-", "").replace(":", "").replace(".000", "")
    assert f"DTSTART:{start}\r\n" in body and "SUMMARY:Concert de Jazz\r\n" in body
    assert "LOCATION:Salle Pleyel\\, Paris\\, FR\r\n" in body and f"URL:{event['site_url']}\r\n" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_a_parent_events_page_and_calendar_list_its_sessions(club):
    day = (utcnow() + dt.timedelta(days=9)).replace(hour=8, minute=0, second=0, microsecond=0)
    parent = created(club.staff.post("/events", json={"event": {
        "type": "parent", "name": "Jazz Festival", "tz": "Asia/Tokyo", "published_at": PAST,
        "sessions": [{"name": name, "starts_at": iso(day + dt.timedelta(hours=n)),
                      "ends_at": iso(day + dt.timedelta(hours=n + 1)), "published_at": PAST}
                     for n, name in ((0, "Opening"), (26, "Closing"))]}}))
    response = page(club, f"/e/{club.orgid}/{parent['slug']}")
    shown = text(response)
    assert "Schedule" in shown and shown.index("Opening") < shown.index("Closing")
    assert "5:00 PM" in shown   # 08:00 UTC is 17:00 in Tokyo
    sessions = club.guest.get(f"/client/events/{parent['id']}/sessions").get_json()["data"]
    for session in sessions:
        assert f'href="/e/{club.orgid}/{session["slug"]}"' in response.get_data(as_text=True)
        assert page(club, f"/e/{club.orgid}/{session['slug']}").status_code == 200
    ics = page(club, f"/e/{club.orgid}/{parent['slug']}.ics").get_data(as_text=True)
    assert ics.count("BEGIN:VEVENT") == 2 and "SUMMARY:Opening" in ics and "SUMMARY:Closing" in ics


def test_the_index_lists_published_events_not_ended_soonest_first(club):
    later = concert(club, name="Autumn Swing", days=60)
    created(club.staff.post("/events", json={"name": "Draft night", "starts_at": iso(utcnow() + dt.timedelta(days=3)),
                                             "ends_at": iso(utcnow() + dt.timedelta(days=3, hours=2))}))
    created(club.staff.post("/events", json={"name": "Long ago", "starts_at": iso(utcnow() - dt.timedelta(days=3)),
                                             "ends_at": iso(utcnow() - dt.timedelta(days=3) + dt.timedelta(hours=2)),
                                             "published_at": PAST}))
    response = page(club, f"/e/{club.orgid}/")
    assert response.status_code == 200
    shown = text(response)
    assert shown.index("Concert de Jazz") < shown.index("Autumn Swing")
    assert "Draft night" not in shown and "Long ago" not in shown and "Salle Pleyel, Paris, FR" in shown
    assert f'href="/e/{club.orgid}/{later["slug"]}"' in response.get_data(as_text=True)
    bare = page(club, f"/e/{club.orgid}")
    assert bare.status_code == 308 and bare.headers["Location"].endswith(f"/e/{club.orgid}/")


def test_french_from_the_query_the_cookie_the_browser_or_the_tenant_default(club):
    path = f"/e/{club.orgid}/{club.event['slug']}"
    asked = page(club, path + "?lang=fr")
    shown = text(asked)
    assert '<html lang="fr">' in asked.get_data(as_text=True) and asked.headers["Content-Language"] == "fr"
    assert "Billets" in shown and "Complet" in shown and "25,00 € + 1,50 € de frais de service" in shown
    assert "Gratuit En vente · 50 restants" in shown and "Aller au contenu" in shown
    assert re.search(r"(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d+ \w+ \d{4} à \d\d:00", shown)
    assert "lang=fr" in asked.headers["Set-Cookie"]
    client = club.app.test_client()
    client.get(path + "?lang=fr")
    assert client.get(path).headers["Content-Language"] == "fr"            # the switcher's cookie
    assert client.get(path + "?lang=en").headers["Content-Language"] == "en"
    assert client.get(path).headers["Content-Language"] == "en"
    assert page(club, path, **{"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}).headers["Content-Language"] == "fr"
    assert page(club, path + "?lang=de", **{"Accept-Language": "de"}).headers["Content-Language"] == "en"
    club.configure("pages", language="fr")
    assert page(club, path).headers["Content-Language"] == "fr"             # the tenant's default
    assert page(club, path, **{"Accept-Language": "en-GB"}).headers["Content-Language"] == "en"


def test_on_the_tenants_own_hostname_the_org_segment_is_dropped(club, operator):
    host = f"tickets.{club.orgid}.example"
    assert add_domain(operator, club, host).status_code == 201
    slug = club.event["slug"]
    shown = club.staff.get(f"/events/{club.event['id']}").get_json()["data"]
    assert shown["site_url"].endswith(f"://{host}/e/{slug}")
    own = page(club, f"/e/{slug}", host=host)
    assert own.status_code == 200 and "Concert de Jazz" in text(own)
    assert f'href="/e/{slug}.ics"' in own.get_data(as_text=True) and 'href="/e/"' in own.get_data(as_text=True)
    assert page(club, f"/e/{slug}.ics", host=host).status_code == 200
    assert "Concert de Jazz" in text(page(club, "/e/", host=host))
    assert page(club, f"/e/{club.orgid}/{slug}", host=host).status_code == 200   # the long form works there too
    assert page(club, f"/e/{club.orgid}/", host=host).status_code == 200
    assert page(club, f"/e/someone-else/{slug}", host=host).status_code == 404


def test_the_links_the_apis_show_open_these_pages(club):
    event = club.event
    listed = key_call(club, "GET", "/events?page=1&limit=20").get_json()["events"]
    site_url = next(e for e in listed if e["id"] == event["id"])["siteUrl"]
    assert site_url == event["site_url"]
    lists = club.staff.get(f"/events/{event['id']}/lists").get_json()["data"]
    assert lists[0]["links"]["event_page"] == site_url
    path = site_url.split("://", 1)[1].split("/", 1)[1]
    response = page(club, "/" + path)
    assert response.status_code == 200 and "Concert de Jazz" in text(response)


def test_a_tenant_without_the_plugin_gets_the_ordinary_404(app, club):
    plain = pages_tenant(app, "No pages", plugins=("offline",))
    event = concert(plain)
    for path in (f"/e/{plain.orgid}/", f"/e/{plain.orgid}/{event['slug']}", f"/e/{plain.orgid}/{event['slug']}.ics"):
        response = page(plain, path)
        assert response.status_code == 404 and response.get_json()["type"] == "plugin_not_enabled", path
    assert page(plain, "/e/no-such-org/").get_json()["type"] == "unknown_org"
    assert page(plain, "/e/").status_code == 404


def test_another_tenants_or_an_unpublished_event_is_a_404_page(app, club):
    other = pages_tenant(app, "Other club")
    theirs = concert(other)
    soon = utcnow() + dt.timedelta(days=3)
    draft = created(club.staff.post("/events", json={"name": "Secret gig", "starts_at": iso(soon),
                                                     "ends_at": iso(soon + dt.timedelta(hours=1))}))
    for slug in (draft["slug"], "no-such-event", theirs["slug"] + "-x"):
        response = page(club, f"/e/{club.orgid}/{slug}")
        assert response.status_code == 404 and "Page not found" in text(response), slug
    assert "Concert de Jazz" in text(page(other, f"/e/{other.orgid}/{theirs['slug']}"))
    assert page(club, f"/e/{club.orgid}/{draft['slug']}.ics").status_code == 404
    assert page(club, f"/e/{club.orgid}/{club.event['slug']}/nothing-here").status_code == 404


def test_the_stylesheet_is_served_by_the_app(club):
    response = page(club, "/e/_assets/pages.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    html = page(club, f"/e/{club.orgid}/{club.event['slug']}").get_data(as_text=True)
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == ["/e/_assets/pages.css"]
    assert not re.findall(r'src="https?://', html)   # nothing loads from elsewhere (the browser test checks too)


def test_the_cover_image_is_the_cores_medium_rendition_and_the_share_image(club):
    import io

    from test_developers_api import photo

    uploaded = club.staff.put(f"/events/{club.event['id']}/cover", data={"image": (io.BytesIO(photo()), "c.jpg")},
                              content_type="multipart/form-data")
    assert uploaded.status_code == 200, uploaded.get_json()
    cover = club.staff.get(f"/events/{club.event['id']}").get_json()["data"]["cover"]
    html = page(club, f"/e/{club.orgid}/{club.event['slug']}").get_data(as_text=True)
    medium = cover["medium"].replace("&", "&amp;")
    assert f'<img class="cover" src="{medium}" alt=""' in html
    assert f'<meta property="og:image" content="{medium}">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert page(club, cover["medium"].split("127.0.0.1:8000", 1)[1]).status_code == 200
