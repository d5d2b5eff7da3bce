"""Named accounts against the real gateway app: place scoping, the audit log,
throttling that cannot lock staff out, TOTP, shared sessions in Redis."""
from __future__ import annotations

import aiohttp
import pytest

from hotline import accounts, tickets
from tests.bot.staff.conftest import STAFF_PASSWORD, STAFF_USER

LI, WANG, ZHAO = "li", "wang", "zhao"
PASSWORD = "correct-horse-42"


def _ticket(sessions, place, sender):
    return tickets.create_ticket(sessions, place=place, topic="ask_remote_care_filing", channel="web",
                                 hotline="12393", reason="request_human", sender=sender,
                                 transcript=[{"from": "resident", "text": f"{place or '某地'}的问题"}])


async def _login(client, name, password=PASSWORD, **kw):
    resp = await client.post("/api/staff/login", json={"name": name, "password": password, **kw})
    return resp.status, (await resp.json())


async def _token(client, name, password=PASSWORD) -> dict[str, str]:
    status, body = await _login(client, name, password)
    assert status == 200, body
    return {"Authorization": f"Bearer {body['token']}"}


@pytest.fixture
def people(kb_sessions):
    accounts.add_account(kb_sessions, LI, PASSWORD, places=["连云港市"])
    accounts.add_account(kb_sessions, ZHAO, PASSWORD, places=["长春市"])
    accounts.add_account(kb_sessions, WANG, PASSWORD, role="admin")   # every place
    return {
        "lyg": _ticket(kb_sessions, "连云港市", "s1"),
        "cc": _ticket(kb_sessions, "长春市", "s2"),
        "none": _ticket(kb_sessions, None, "s3"),
    }


async def test_each_account_sees_only_its_places(client, kb_sessions, people):
    li = await _token(client, LI)
    data = await (await client.get("/api/staff/tickets", headers=li)).json()
    assert [t["code"] for t in data["tickets"]] == [people["lyg"].code] and data["total"] == 1
    # Another place's ticket is not even confirmed to exist, and cannot be resolved.
    assert (await client.get(f"/api/staff/tickets/{people['cc'].code}", headers=li)).status == 404
    resp = await client.post(f"/api/staff/tickets/{people['cc'].code}/resolve", headers=li, json={"note": "x"})
    assert resp.status == 404
    assert tickets.get_by_code(kb_sessions, people["cc"].code).status == "open"
    assert (await client.get(f"/api/staff/tickets/{people['lyg'].code}", headers=li)).status == 200
    # The admin for every place sees all three, the placeless one included.
    wang = await _token(client, WANG)
    data = await (await client.get("/api/staff/tickets", headers=wang)).json()
    assert {t["code"] for t in data["tickets"]} == {t.code for t in people.values()}
    # Unanswered questions are scoped the same way.
    tickets.record_unanswered(kb_sessions, "连云港市", None, "连云港的问题", "fallback")
    tickets.record_unanswered(kb_sessions, "长春市", None, "长春的问题", "fallback")
    summary = await (await client.get("/api/staff/unanswered", headers=li)).json()
    assert {g["place"] for g in summary["groups"]} == {"连云港市"}
    # Suggestions for a place outside the account are refused.
    zhao = await _token(client, ZHAO)
    resp = await client.post("/api/staff/suggest", headers=zhao, json={"text": "异地备案", "city": "连云港市"})
    assert resp.status == 403 and (await resp.json())["error"] == "out_of_scope"
    assert (await client.post("/api/staff/suggest", headers=li,
                              json={"text": "异地备案", "city": "连云港市"})).status == 200


async def test_queue_pages_newest_and_oldest_first(client, kb_sessions):
    made = [_ticket(kb_sessions, "连云港市", f"p{i}") for i in range(5)]
    # The same sender handing off again updates its ticket: no new row in the queue.
    assert _ticket(kb_sessions, "连云港市", "p0").code == made[0].code
    admin = {"Authorization": f"Bearer {(await _login(client, STAFF_USER, STAFF_PASSWORD))[1]['token']}"}
    first = await (await client.get("/api/staff/tickets?order=oldest", headers=admin)).json()
    assert first["total"] == 5 and first["tickets"][0]["code"] == made[0].code
    newest = await (await client.get("/api/staff/tickets?order=newest", headers=admin)).json()
    assert newest["tickets"][0]["code"] == made[-1].code


async def test_audit_log_records_who_did_what(client, kb_sessions, people):
    li = await _token(client, LI)
    code = people["lyg"].code
    assert (await client.get(f"/api/staff/tickets/{code}", headers=li)).status == 200
    assert (await client.get(f"/api/staff/tickets/{people['cc'].code}", headers=li)).status == 404
    assert (await client.post(f"/api/staff/tickets/{code}/resolve", headers=li, json={"note": "已回电"})).status == 200
    assert (await client.post("/api/staff/audit", headers=li,
                              json={"action": "copy", "target": "ask_remote_care_filing"})).status == 200
    assert (await client.post("/api/staff/audit", headers=li, json={"action": "resolve_ticket", "target": "x"})).status == 400
    export = await client.get("/staff/tickets.csv", headers=li)
    assert export.status == 200 and export.headers["Content-Type"].startswith("text/csv")
    # Only admins read the log; trying is itself recorded.
    assert (await client.get("/api/staff/audit", headers=li)).status == 403
    await _login(client, LI, "wrong-password")
    wang = await _token(client, WANG)
    log = await (await client.get(f"/api/staff/audit?account={LI}", headers=wang)).json()
    seen = [(e["action"], e["target"]) for e in log["entries"]]
    for expected in [("login", ""), ("view_ticket", code), ("denied", people["cc"].code),
                     ("resolve_ticket", code), ("copy", "ask_remote_care_filing"), ("export_queue", ""),
                     ("denied", "审计日志"), ("login_failed", "")]:
        assert expected in seen, (expected, seen)
    assert all(e["account"] == LI and e["at"] and e["address"] for e in log["entries"])
    assert log["entries"][0]["action"] == "login_failed"          # newest first
    # A name that is no account (a password typed into the name field) is not kept.
    await _login(client, "my-secret-password-typed-here", "x")
    everything = await (await client.get("/api/staff/audit?action=login_failed", headers=wang)).json()
    assert {e["account"] for e in everything["entries"]} == {LI, "?"}
    assert "my-secret-password-typed-here" not in str(everything)
    only_resolves = await (await client.get("/api/staff/audit?action=resolve_ticket", headers=wang)).json()
    assert [e["target"] for e in only_resolves["entries"]] == [code]


async def test_disabled_account_loses_access_at_once(client, kb_sessions, people):
    li = await _token(client, LI)
    assert (await client.get("/api/staff/me", headers=li)).status == 200
    accounts.update_account(kb_sessions, LI, active=False)
    assert (await client.get("/api/staff/me", headers=li)).status == 401
    assert (await _login(client, LI))[0] == 401


async def test_outsiders_cannot_lock_staff_out(aiohttp_client, kb_sessions, make_gateway, people):
    """Failures block the failing address, and unknown devices of a hammered
    account; the staff member's own browser (device cookie) always gets in."""
    client = await aiohttp_client(make_gateway(TRUSTED_PROXIES="127.0.0.1"))
    url = str(client.make_url("/api/staff/login"))
    # li logged in before from her browser: it holds a device cookie now.
    resp = await client.post("/staff/login", data={"name": LI, "password": PASSWORD},
                             headers={"X-Forwarded-For": "10.0.0.7"}, allow_redirects=False)
    assert resp.status == 303 and "staff_device" in resp.cookies
    await client.post("/staff/logout", allow_redirects=False)

    async with aiohttp.ClientSession() as outsider:   # its own cookie jar: no device cookie
        async def attempt(address: str, name: str = LI, password: str = "guess") -> int:
            async with outsider.post(url, json={"name": name, "password": password},
                                     headers={"X-Forwarded-For": address}) as r:
                return r.status

        # One address: three failures (STAFF_LOGIN_MAX_FAILURES) block that address only.
        assert [await attempt("203.0.113.9") for _ in range(4)] == [401, 401, 401, 429]
        assert await attempt("203.0.113.9", WANG, PASSWORD) == 429
        assert await attempt("198.51.100.1", WANG, PASSWORD) == 200
        # Rotating addresses against li: unknown devices are blocked after 4 × 3 failures
        # (three came from the first address already)…
        statuses = [await attempt(f"192.0.2.{i}") for i in range(1, 10)]
        assert statuses == [401] * 9
        assert await attempt("192.0.2.200", LI, PASSWORD) == 429
    # …but li's own browser, even from the outsider's blocked address, gets in.
    resp = await client.post("/staff/login", data={"name": LI, "password": PASSWORD},
                             headers={"X-Forwarded-For": "203.0.113.9"}, allow_redirects=False)
    assert resp.status == 303


async def test_totp_second_factor(client, kb_sessions):
    import pyotp

    secret = pyotp.random_base32()
    accounts.add_account(kb_sessions, "zhou", PASSWORD, places=["连云港市"], totp_secret=secret)
    assert (await _login(client, "zhou"))[0] == 401                      # password alone is not enough
    assert (await _login(client, "zhou", code="000000"))[0] == 401
    code = pyotp.TOTP(secret).now()
    assert (await _login(client, "zhou", code=code))[0] == 200
    assert (await _login(client, "zhou", code=code))[0] == 401           # no replay


async def test_sessions_are_shared_through_redis(aiohttp_client, kb_sessions, make_gateway, redis_url, people):
    """Two gateway processes with one Redis: a session from one works on the other,
    and logging out on one ends it everywhere."""
    a = await aiohttp_client(make_gateway(REDIS_URL=redis_url))
    b = await aiohttp_client(make_gateway(REDIS_URL=redis_url))
    li = await _token(a, LI)
    assert (await b.get("/api/staff/me", headers=li)).status == 200
    assert (await b.post("/api/staff/logout", headers=li)).status == 200
    assert (await a.get("/api/staff/me", headers=li)).status == 401
