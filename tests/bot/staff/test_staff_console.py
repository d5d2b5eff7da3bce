"""Staff console API and pages against a real knowledge base and ticket database."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bot.staff import routes
from hotline import tickets
from hotline.passwords import hash_password
from settings import SettingsError
from tests.bot.staff.conftest import ROOT, STAFF_PASSWORD, STAFF_USER, gateway_env

MOBILE = "13912345678"


def _ticket(sessions, **kw):
    args = dict(place="连云港市", topic="ask_remote_care_filing", channel="web", hotline="12393",
                reason="request_human", slots={"city": "连云港市"},
                transcript=[{"from": "resident", "text": f"<script>alert(1)</script>我要备案 {MOBILE}"},
                            {"from": "bot", "text": "请拨打12393"}])
    args.update(kw)
    return tickets.create_ticket(sessions, **args)


# -- authentication -------------------------------------------------------------------

# Every route the console registers, read from its tables: a route added later, or
# one marked public by mistake (the CSV export, the audit log), is checked too.
_PRIVATE_ROUTES = [(method, prefix + path)
                   for prefix, table in (("/staff", routes.PAGES), ("/api/staff", routes.API))
                   for method, path, handler in table if not getattr(handler, "staff_public", False)]


def test_the_route_list_covers_the_console():
    assert ("GET", "/staff/tickets.csv") in _PRIVATE_ROUTES and ("GET", "/api/staff/audit") in _PRIVATE_ROUTES
    assert ("POST", "/staff/login") not in _PRIVATE_ROUTES and len(_PRIVATE_ROUTES) >= 18


@pytest.mark.parametrize("method,path", _PRIVATE_ROUTES)
async def test_every_route_needs_a_session(client, kb_sessions, method, path):
    info = _ticket(kb_sessions)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Cookie": "staff_session=forged"}):
        resp = await client.request(method, path.format(code=info.code), headers=headers,
                                    allow_redirects=False, json={"note": "x", "text": "x"})
        assert resp.status in (401, 403), (method, path, resp.status)
        # The login page may echo the requested URL (to return there), nothing else.
        body = re.sub(r'name="next" value="[^"]*"', "", await resp.text())
        assert info.code not in body and "备案" not in body and "[手机号]" not in body


async def test_login_logout_with_cookie(client):
    resp = await client.get("/staff/login")
    assert resp.status == 200 and 'name="password"' in await resp.text()
    resp = await client.post("/staff/login", data={"name": STAFF_USER, "password": STAFF_PASSWORD, "next": "/staff/tickets"},
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/staff/tickets"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    resp = await client.get("/staff/tickets")
    assert resp.status == 200
    html = await resp.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    # Logout needs the CSRF token.
    assert (await client.post("/staff/logout", data={}, allow_redirects=False)).status == 403
    resp = await client.post("/staff/logout", data={"csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/staff/tickets")).status == 401


async def test_open_redirect_refused(client):
    resp = await client.post("/staff/login", data={"name": STAFF_USER, "password": STAFF_PASSWORD, "next": "//evil.example/x"},
                             allow_redirects=False)
    assert resp.headers["Location"] == "/staff"


async def test_failed_logins_are_throttled(client):
    for _ in range(3):
        resp = await client.post("/api/staff/login", json={"name": STAFF_USER, "password": "wrong"})
        assert resp.status == 401
    resp = await client.post("/api/staff/login", json={"name": STAFF_USER, "password": STAFF_PASSWORD})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    resp = await client.post("/staff/login", data={"name": STAFF_USER, "password": STAFF_PASSWORD})
    assert resp.status == 429


async def test_cookie_api_post_needs_csrf_header(client):
    resp = await client.post("/api/staff/login", json={"name": STAFF_USER, "password": STAFF_PASSWORD})
    data = await resp.json()
    client.session.cookie_jar.update_cookies({"staff_session": data["token"]})
    resp = await client.post("/api/staff/suggest", json={"text": "异地备案"})
    assert resp.status == 403
    resp = await client.post("/api/staff/suggest", json={"text": "异地备案"}, headers={"X-CSRF-Token": data["csrf"]})
    assert resp.status == 200


@pytest.mark.parametrize("headers,allowed", [
    ({}, True),                                                     # no browser: CSRF token decides
    ({"Sec-Fetch-Site": "same-origin"}, True),
    ({"Origin": "{base}"}, True),
    ({"Origin": "{base}", "Sec-Fetch-Site": "same-origin"}, True),
    ({"Origin": "null"}, False),                                    # opaque origin
    ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, False),    # another site with no-referrer
    ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, False),   # our page would never send null
    ({"Origin": "http://evil.example"}, False),
    ({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, False),
    ({"Origin": "{base}", "Sec-Fetch-Site": "cross-site"}, False),   # the browser's word wins
    ({"Sec-Fetch-Site": "same-site"}, False),                       # a sibling port or subdomain
    ({"Sec-Fetch-Site": "none"}, False),
    ({"Origin": "ftp://{host}"}, False),
])
async def test_login_form_origin_check(client, headers, allowed):
    base = str(client.make_url("")).rstrip("/")
    headers = {k: v.format(base=base, host=base.split("//")[1]) for k, v in headers.items()}
    resp = await client.post("/staff/login", data={"name": STAFF_USER, "password": STAFF_PASSWORD}, headers=headers,
                             allow_redirects=False)
    assert (resp.status == 303) is allowed, (headers, resp.status)
    assert ("staff_session" in resp.cookies) is allowed
    if not allowed:
        assert resp.status == 403


async def test_cookie_posts_refused_from_another_origin(client):
    """Logged in, a cross-site page cannot post a form or call the API with the cookie."""
    resp = await client.post("/staff/login", data={"name": STAFF_USER, "password": STAFF_PASSWORD}, allow_redirects=False)
    assert resp.status == 303
    html = await (await client.get("/staff")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    evil = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert (await client.post("/staff", data={"csrf": csrf, "text": "备案"}, headers=evil)).status == 403
    assert (await client.post("/api/staff/suggest", json={"text": "备案"},
                              headers={**evil, "X-CSRF-Token": csrf})).status == 403
    ok = await client.post("/api/staff/suggest", json={"text": "备案"},
                           headers={"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": csrf})
    assert ok.status == 200


async def test_gateway_headers_on_console_pages(client):
    resp = await client.get("/staff/login")
    assert resp.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    assert "form-action 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"


async def test_production_has_named_accounts_only(aiohttp_client, caplog, kb_sessions, make_gateway):
    """A shared STAFF_PASSWORD logs nobody in, in production, and is reported once (by create_app)."""
    production = {"APP_ENV": "production", "RASA_TOKEN": "t" * 32, "GATEWAY_SECRET": "s" * 40}
    with caplog.at_level("WARNING"):
        client = await aiohttp_client(make_gateway(**production))
    resp = await client.post("/api/staff/login", json={"name": STAFF_USER, "password": STAFF_PASSWORD})
    assert resp.status == 401
    ignored = [r for r in caplog.records if "named staff accounts only" in r.getMessage()]
    assert len(ignored) == 1, [r.getMessage() for r in ignored]
    assert STAFF_PASSWORD not in caplog.text


async def test_an_unusable_password_hash_is_refused_at_start_up(make_gateway, sqlite_url, nlu_url):
    with pytest.raises(SettingsError, match=r"STAFF_PASSWORD_HASH must look like scrypt\$"):
        make_gateway(STAFF_PASSWORD_HASH="md5$abc", STAFF_PASSWORD="")
    # python -m bot says so and stops, without a traceback.
    env = gateway_env(sqlite_url, nlu_url, STAFF_PASSWORD_HASH="scrypt$1024$8$1$AAAA$AAAA")
    proc = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "STAFF_PASSWORD_HASH is not a valid hash" in proc.stderr and "Traceback" not in proc.stderr


async def test_development_without_password_generates_one(aiohttp_client, caplog, kb_sessions, make_gateway):
    """With neither STAFF_PASSWORD nor STAFF_PASSWORD_HASH, the log tells the developer a password."""
    with caplog.at_level("WARNING", logger="bot.staff.devaccount"):
        client = await aiohttp_client(make_gateway(STAFF_PASSWORD=""))
    told = [r for r in caplog.records if r.name == "bot.staff.devaccount"]
    assert len(told) == 1
    name, password = told[0].args
    assert name == STAFF_USER and password != STAFF_PASSWORD
    assert (await client.post("/api/staff/login", json={"name": STAFF_USER, "password": password})).status == 200


async def test_hash_from_env_is_used(aiohttp_client, kb_sessions, make_gateway):
    client = await aiohttp_client(make_gateway(STAFF_PASSWORD_HASH=hash_password("hashed-secret-1"),
                                               STAFF_PASSWORD=""))
    assert (await client.post("/api/staff/login", json={"name": STAFF_USER, "password": "hashed-secret-1"})).status == 200
    assert (await client.post("/api/staff/login", json={"name": STAFF_USER, "password": STAFF_PASSWORD})).status == 401


# -- suggestions ----------------------------------------------------------------------

async def test_suggest_returns_three_sourced_answers(client, auth, rasa):
    resp = await client.post("/api/staff/suggest", headers=auth,
                             json={"text": "喂 我想问下那个异地就医备案咋弄 我身份证11010519491231002X", "city": "连云港"})
    assert resp.status == 200
    data = await resp.json()
    assert data["city"] == "连云港市" and data["nlu_available"] is True
    sugg = data["suggestions"]
    assert len(sugg) == 3
    assert [s["topic"] for s in sugg] == ["ask_remote_care_filing", "ask_cross_region_settlement",
                                          "ask_manual_reimbursement"]
    assert sugg[0]["score"] == pytest.approx(0.81)
    for s in sugg:
        assert s["answer"] and s["title"] and s["method"] == "nlu"
        assert set(s["source"]) >= {"document", "section", "quote", "as_of"}
        assert s["source"]["document"] and s["source"]["quote"]
    # What the plan leaves out comes with each local answer, as the resident hears it:
    # the national way for what the plan lacks, then the gap.
    assert "规划没有写明" in sugg[0]["gap"] and "12393" in sugg[0]["gap"]
    assert "规划没有写明" not in sugg[0]["answer"]
    national = sugg[0]["national"]
    assert national["steps"] and national["materials"] and national["doc_no"] == "医保发〔2022〕22号"
    assert all(national.get(f) is None or not sugg[0][f] for f in ("steps", "channels", "materials"))
    # The text Rasa saw was normalised and masked.
    assert "11010519491231002X" not in rasa.texts[-1] and "[身份证号]" in rasa.texts[-1]
    # A plain question names no situation: no national rule goes before the answers.
    assert all(s["rules"] == [] for s in sugg)


async def test_suggestions_lead_with_the_rule_for_the_callers_situation(client, auth):
    # What a resident hears first is what the agent reads first: filing late still works.
    resp = await client.post("/api/staff/suggest", headers=auth,
                             json={"text": "我爸在海南住院了 走之前没办备案 出院全自费的 回来能报不", "city": "连云港"})
    sugg = (await resp.json())["suggestions"]
    assert [s["topic"] for s in sugg] == ["ask_remote_care_filing", "ask_cross_region_settlement",
                                          "ask_manual_reimbursement"]
    for s in sugg:
        (rule,) = s["rules"]
        assert rule["id"] == "national.fact.filing_late" and "出院结算前补办" in rule["text"]
        assert rule["doc_no"] == "医保发〔2022〕22号" and "医保发〔2022〕22号" in rule["citation"]


async def test_suggest_skips_control_intents_and_uses_entity_city(client, auth):
    resp = await client.post("/api/staff/suggest", headers=auth, json={"text": "连云港 报销咋整"})
    data = await resp.json()
    assert data["city"] == "连云港市"
    assert [s["topic"] for s in data["suggestions"]] == [
        "ask_manual_reimbursement", "ask_reimbursement", "ask_chronic_disease_outpatient"]


async def test_suggest_without_nlu_falls_back_to_retrieval(client, auth, rasa):
    rasa.down = True
    resp = await client.post("/api/staff/suggest", headers=auth, json={"text": "异地就医备案怎么办理"})
    assert resp.status == 200
    data = await resp.json()
    assert data["nlu_available"] is False
    assert data["suggestions"] and data["suggestions"][0]["topic"] == "ask_remote_care_filing"
    assert all(s["method"] == "retrieval" for s in data["suggestions"])


async def test_retrieval_suggestions_carry_the_national_way_too(client, auth, rasa):
    rasa.down = True
    resp = await client.post("/api/staff/suggest", headers=auth,
                             json={"text": "异地就医备案怎么办理", "city": "连云港市"})
    first = (await resp.json())["suggestions"][0]
    assert first["method"] == "retrieval" and first["topic"] == "ask_remote_care_filing"
    assert first["national"]["steps"] and first["national"]["doc_no"] == "医保发〔2022〕22号"


@pytest.mark.parametrize("body", [None, [], {"text": ""}, {"text": "   "}, {"text": 5},
                                  {"text": "x" * 1001}, {"text": "备案", "city": 3},
                                  {"text": "备案", "city": "火星市"}])
async def test_suggest_rejects_bad_input(client, auth, body):
    if body is None:
        resp = await client.post("/api/staff/suggest", headers={**auth, "Content-Type": "application/json"},
                                 data=b"{not json")
    else:
        resp = await client.post("/api/staff/suggest", headers=auth, json=body)
    assert resp.status == 400
    assert "error" in await resp.json()


async def _login_cookie(client) -> str:
    await client.post("/staff/login", data={"name": STAFF_USER, "password": STAFF_PASSWORD}, allow_redirects=False)
    html = await (await client.get("/staff")).text()
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def test_suggest_page(client):
    csrf = await _login_cookie(client)
    resp = await client.post("/staff", data={"csrf": csrf, "text": "异地备案 <b>急</b>", "city": "连云港市"})
    assert resp.status == 200
    html = await resp.text()
    assert html.count('class="card suggestion"') == 3
    assert html.count('class="copy"') == 3 and "data-copy-target" in html
    assert "<b>急</b>" not in html and "&lt;b&gt;急&lt;/b&gt;" in html
    assert "<script>" not in html.replace('<script src="/staff/static/staff.js" defer></script>', "")
    assert "出处原文" in html
    assert 'class="rule"' not in html
    # Inside the block the agent copies: the answer's source line, the national way for
    # what the plan lacks under its own source line, then the gap.
    first = re.search(r'<div class="answer-text" id="answer-1">(.*?)</div>', html, re.S).group(1)
    national = first.index('<section class="national">')
    assert first.index("依据：") < national < first.index("依据：", national) < first.index('<p class="gap">')
    assert "12393" in first.split('class="gap"')[1]
    situation = await client.post("/staff", data={"csrf": csrf, "text": "在外省住院没备案 能报吗", "city": "连云港市"})
    html = await situation.text()
    # Inside each answer the agent copies, with its own source line.
    blocks = re.findall(r'<div class="answer-text" id="answer-\d">(.*?)</div>', html, re.S)
    assert len(blocks) == 3
    for block in blocks:
        assert '<p class="rule">国家的规定是：' in block and "依据：《国家医疗保障局 财政部" in block
    # Without the CSRF token the form is refused.
    assert (await client.post("/staff", data={"text": "异地备案"})).status == 403


async def test_static_files(client):
    resp = await client.get("/staff/static/staff.js")
    assert resp.status == 200 and "clipboard" in await resp.text()
    assert (await client.get("/staff/static/staff.css")).status == 200


# -- tickets --------------------------------------------------------------------------

async def test_ticket_lookup_api(client, auth, kb_sessions):
    info = _ticket(kb_sessions)
    spaced = f"{info.code[:3].lower()} {info.code[3:]}"
    resp = await client.get(f"/api/staff/tickets/{spaced}", headers=auth)
    assert resp.status == 200
    data = await resp.json()
    assert data["code"] == info.code and data["status"] == "open"
    assert MOBILE not in str(data) and "[手机号]" in data["transcript"][0]["text"]
    resp = await client.get("/api/staff/tickets/ZZZZZZ" if info.code != "ZZZZZZ" else "/api/staff/tickets/YYYYYY",
                            headers=auth)
    assert resp.status == 404
    resp = await client.get("/api/staff/tickets", headers=auth, params={"place": "连云港市"})
    assert [t["code"] for t in (await resp.json())["tickets"]] == [info.code]
    resp = await client.get("/api/staff/tickets", headers=auth, params={"place": "长春市"})
    assert (await resp.json())["tickets"] == []


async def test_resolve_api(client, auth, kb_sessions):
    info = _ticket(kb_sessions)
    assert (await client.post(f"/api/staff/tickets/{info.code}/resolve", headers=auth, json={"note": ""})).status == 400
    resp = await client.post(f"/api/staff/tickets/{info.code}/resolve", headers=auth,
                             json={"note": f"已回电 {MOBILE}"})
    assert resp.status == 200
    data = await resp.json()
    assert data["status"] == "resolved" and MOBILE not in data["resolution_note"]
    resp = await client.post(f"/api/staff/tickets/{info.code}/resolve", headers=auth, json={"note": "again"})
    assert resp.status == 409
    assert (await (await client.get("/api/staff/tickets", headers=auth)).json())["tickets"] == []


async def test_ticket_pages_and_resolve_form(client, kb_sessions):
    info = _ticket(kb_sessions)
    csrf = await _login_cookie(client)
    resp = await client.get(f"/staff/tickets?code={info.code.lower()}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/staff/tickets/{info.code}"
    html = await (await client.get(f"/staff/tickets/{info.code}")).text()
    assert info.code in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert MOBILE not in html
    queue = await (await client.get("/staff/tickets")).text()
    assert f'href="/staff/tickets/{info.code}"' in queue
    # The form needs the CSRF token.
    resp = await client.post(f"/staff/tickets/{info.code}/resolve", data={"note": "done"}, allow_redirects=False)
    assert resp.status == 403
    resp = await client.post(f"/staff/tickets/{info.code}/resolve", data={"note": "已处理", "csrf": csrf},
                             allow_redirects=False)
    assert resp.status == 303
    html = await (await client.get(resp.headers["Location"])).text()
    assert "已处理" in html and 'id="resolve-form"' not in html
    assert (await client.get("/staff/tickets/ABCDE")).status == 404


# -- unanswered -----------------------------------------------------------------------

async def test_unanswered_summary_api_and_page(client, auth, kb_sessions):
    for text, topic in (("医保能给狗看病吗", None), ("转移接续到外省", "ask_transfer"), ("转移接续", "ask_transfer")):
        tickets.record_unanswered(kb_sessions, "连云港市", topic, text, "fallback")
    tickets.record_unanswered(kb_sessions, "长春市", "ask_transfer", f"电话{MOBILE}转接", "handoff")
    resp = await client.get("/api/staff/unanswered?days=7", headers=auth)
    assert resp.status == 200
    data = await resp.json()
    assert len(data["days"]) == 7 and sum(data["totals"].values()) == 4
    top = data["groups"][0]
    assert (top["topic"], top["place"], top["total"]) == ("ask_transfer", "连云港市", 2)
    assert MOBILE not in str(data)
    assert (await client.get("/api/staff/unanswered?days=abc", headers=auth)).status == 400
    await _login_cookie(client)
    html = await (await client.get("/staff/unanswered?days=7")).text()
    assert "<svg" in html and html.count('class="bar"') == 7 and 'id="unanswered"' in html
    assert "医保能给狗看病吗" in html
