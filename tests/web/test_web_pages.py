"""Every page of the web UI with the Flask test client: HTML checked with selectors/regex."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from web_helpers import csrf, login, post


class Finder(HTMLParser):
    """Collects (tag, attrs) of every start tag, for simple selector checks."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: "" if v is None else v for k, v in attrs}))

    def find(self, tag: str, **attrs) -> list[dict]:
        """Start tags named ``tag`` whose attributes include ``attrs`` (``class_`` for class)."""
        want = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            a
            for t, a in self.tags
            if t == tag
            and all(
                (v in (a.get(k) or "").split()) if k == "class" else a.get(k) == v
                for k, v in want.items()
            )
        ]


def html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def data(tessera):
    """Two customers, an opportunity, a follow-up and a ticket."""
    r = tessera.records
    acme = r.create("crm", "customer", {"name": "Acme", "tier": "high", "email": "a@acme.test"})
    beta = r.create("crm", "customer", {"name": "Beta", "tier": "low"})
    deal = r.create(
        "crm",
        "opportunity",
        {"name": "Big deal", "customer": acme["id"], "amount": "1000", "probability": "50"},
    )
    r.create(
        "crm",
        "follow_up",
        {"subject": "Call Acme", "customer": acme["id"], "next_at": "2026-11-20T10:00"},
    )
    return {"acme": acme, "beta": beta, "deal": deal}


# -- sign-in and shell -------------------------------------------------------------------
def test_pages_need_sign_in(anon):
    for path in ("/", "/a/crm", "/a/crm/v/customers", "/a/crm/r/customer/new"):
        r = anon.get(path)
        assert r.status_code == 302 and "/login?next=" in r.headers["Location"], path


def test_lookup_needs_sign_in_json(anon):
    r = anon.get("/a/crm/r/customer/lookup", headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_login_wrong_password_and_then_right(anon):
    token = csrf(anon)
    r = anon.post("/login", data={"username": "alice", "password": "nope", "_csrf": token})
    assert r.status_code == 401 and "Wrong username or password" in html(r)
    assert 'value="alice"' in html(r)  # username kept
    r = login(anon, "alice")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = html(anon.get("/"))
    assert "Alice Admin" in page and "Customer management" in page


def test_login_redirects_only_inside_the_site(anon):
    token = csrf(anon)
    data = {
        "username": "alice",
        "password": "correct-horse-1",
        "_csrf": token,
        "next": "https://evil.test/",
    }
    r = anon.post("/login", data=data)
    assert r.headers["Location"] == "/"


def test_logout_ends_the_session(client):
    r = post(client, "/logout")
    assert r.status_code == 302
    assert client.get("/").status_code == 302


def test_csrf_refusals(client, anon):
    r = client.post("/a/crm/r/customer/new", data={"name": "No token"})
    assert r.status_code == 400 and "expired" in html(r)
    r = client.post("/a/crm/r/customer/new", data={"name": "Bad", "_csrf": "forged"})
    assert r.status_code == 400
    r = anon.post("/login", data={"username": "alice", "password": "correct-horse-1"})
    assert r.status_code == 400
    r = anon.post("/f/crm/web_lead", data={"name": "Spam"})
    assert r.status_code == 400


def test_home_and_app_pages(client, data):
    page = Finder(html(client.get("/")))
    assert page.find("a", href="/a/crm/v/customers")
    r = client.get("/a/crm")
    assert r.status_code == 200
    assert re.search(r'<span class="count">2</span>', html(r))  # two customers
    assert "/f/crm/web_lead" in html(r)  # public form link shown


def test_unknown_app_view_record_are_404_pages(client):
    assert "No app called" in html(client.get("/a/nope"))
    assert client.get("/a/nope").status_code == 404
    assert client.get("/a/crm/v/nope").status_code == 404
    assert client.get("/a/crm/r/nope").status_code == 404
    r = client.get("/a/crm/r/customer/999")
    assert r.status_code == 404 and "Customer #999 does not exist" in html(r)


def test_language_switch_changes_ui_and_labels(client):
    r = post(client, "/lang", {"locale": "zh_CN", "next": "/a/crm/v/customers"})
    assert r.headers["Location"] == "/a/crm/v/customers"
    page = html(client.get("/a/crm/v/customers"))
    assert "全部客户" in page and "退出" in page and "全部记录" in page
    post(client, "/lang", {"locale": "en"})
    assert "All customers" in html(client.get("/a/crm/v/customers"))


def test_language_from_accept_language(anon):
    page = html(anon.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    assert "登录 Tessera" in page


# -- table --------------------------------------------------------------------------------
def test_table_columns_rows_and_count(client, data):
    r = client.get("/a/crm/v/customers")
    page = Finder(html(r))
    headers = [a["data-column"] for a in page.find("th") if "data-column" in a]
    assert headers == ["code", "name", "company", "tier", "stage", "status", "owner", "total_spent"]
    rows = page.find("tr")
    assert [a["data-href"] for a in rows if "data-href" in a] == [
        f"/a/crm/r/customer/{data['acme']['id']}",
        f"/a/crm/r/customer/{data['beta']['id']}",
    ]
    assert "2 records" in html(r)


def test_table_quick_filter_search_and_sort(client, data):
    page = html(client.get("/a/crm/v/customers?f.tier=high"))
    assert "Acme" in page and "Beta" not in page and "1 record" in page
    page = html(client.get("/a/crm/v/customers?q=bet"))
    assert "Beta" in page and "Acme" not in page
    page = html(client.get("/a/crm/v/customers?sort=-name"))
    assert page.index(">Beta<") < page.index(">Acme<")
    assert 'aria-sort="descending"' in page


def test_table_empty_states(client):
    page = html(client.get("/a/crm/v/customers"))
    assert "There are no Customer records yet." in page and "Add the first one" in page
    page = html(client.get("/a/crm/v/customers?q=zzz"))
    assert "No records match these filters" in page


def test_table_bad_sort_is_a_400_page(client):
    r = client.get("/a/crm/v/customers?sort=nope")
    assert r.status_code == 400 and "cannot sort by" in html(r)


def test_table_pagination(client, tessera):
    tessera.records.bulk_create("crm", "customer", [{"name": f"C{i:02d}"} for i in range(30)])
    page = html(client.get("/a/crm/v/customers"))
    assert "30 records" in page and "page 1 of 2" in page and 'rel="next"' in page
    page = html(client.get("/a/crm/v/customers?page=2"))
    assert "C29" in page and "C00" not in page and 'rel="prev"' in page


def test_all_records_table(client, data):
    page = html(client.get("/a/crm/r/opportunity"))
    assert "Big deal" in page and "Acme" in page  # link shows the customer's title


def test_bulk_set_and_delete(client, tessera, data):
    ids = [data["acme"]["id"], data["beta"]["id"]]
    r = post(client, "/a/crm/v/customers/bulk", {"ids": ids, "action": "set", "set": "stage=loyal"})
    assert r.status_code == 302
    assert {tessera.records.get("crm", "customer", i)["stage"] for i in ids} == {"loyal"}
    r = post(client, "/a/crm/v/customers/bulk", {"ids": ids, "action": "delete"})
    follow = html(client.get(r.headers["Location"]))
    assert "Deleted 1 record." in follow  # Beta went; Acme is linked (restrict)
    assert "cannot delete" in follow
    assert tessera.queries.list("crm", "customer", with_total=True).total == 1


def test_bulk_without_selection_or_action(client, data):
    r = post(client, "/a/crm/v/customers/bulk", {"action": "delete"})
    assert "Select at least one record first." in html(client.get(r.headers["Location"]))
    r = post(client, "/a/crm/v/customers/bulk", {"ids": [data["acme"]["id"]], "action": "zap"})
    assert r.status_code == 400


def test_saved_variants(client, data):
    r = post(
        client, "/a/crm/v/customers/variants", {"name": "Hot", "f.tier": "high", "sort": "-name"}
    )
    assert r.status_code == 302 and "variant=" in r.headers["Location"]
    variant_id = int(re.search(r"variant=(\d+)", r.headers["Location"]).group(1))
    r = client.get(f"/a/crm/v/customers?variant={variant_id}")
    assert r.status_code == 302 and "f.tier=high" in r.headers["Location"]
    page = html(client.get(r.headers["Location"]))
    assert ">Hot<" in page and "Beta" not in page
    r = post(client, "/a/crm/v/customers/variants", {"name": " "})
    assert "give the saved view a name" in html(client.get(r.headers["Location"]))
    r = post(client, f"/a/crm/v/customers/variants/{variant_id}/delete")
    assert r.status_code == 302
    assert client.get(f"/a/crm/v/customers?variant={variant_id}").status_code == 404


def test_variants_are_personal(client, web_app, data):
    r = post(client, "/a/crm/v/customers/variants", {"name": "Mine", "f.tier": "high"})
    variant_id = int(re.search(r"variant=(\d+)", r.headers["Location"]).group(1))
    _grant(web_app, "bob", "viewer")  # the CRM declares roles: without one bob sees nothing
    bob = web_app.test_client()
    login(bob, "bob")
    assert ">Mine<" not in html(bob.get("/a/crm/v/customers"))
    assert bob.get(f"/a/crm/v/customers?variant={variant_id}").status_code == 404
    assert post(bob, f"/a/crm/v/customers/variants/{variant_id}/delete").status_code == 404


def _grant(web_app, username: str, role: str) -> None:
    import sqlalchemy as sa

    from tessera.access.principal import bump_access_version
    from tessera.access.tables import user_roles
    from tessera.storage.system import users

    with web_app.extensions["tessera"].engine.begin() as conn:
        user_id = conn.scalar(sa.select(users.c.id).where(users.c.username == username))
        conn.execute(user_roles.insert().values(user_id=user_id, app_id="crm", role=role))
        bump_access_version(conn)


# -- kanban, calendar, chart --------------------------------------------------------------
def test_kanban_lanes_counts_and_sums(client, data):
    page = html(client.get("/a/crm/v/pipeline"))
    finder = Finder(page)
    lanes = [a["data-value"] for a in finder.find("section", class_="lane")]
    assert lanes == ["qualify", "proposal", "negotiation", "won", "lost"]
    assert "CNY 1,000.00" in page
    assert finder.find("li", class_="kcard", **{"data_id": str(data["deal"]["id"])})


def test_kanban_move_json_and_form(client, tessera, data):
    token = csrf(client, "/")
    deal = data["deal"]
    r = client.post(
        "/a/crm/v/pipeline/move",
        json={"id": deal["id"], "value": "won", "version": 1},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 200
    assert {k: r.json[k] for k in ("id", "version", "value")} == {
        "id": deal["id"],
        "version": 2,
        "value": "won",
    }
    lanes = {lane["value"]: lane for lane in r.json["lanes"]}  # fresh headers for the page
    assert lanes["won"]["count"] == 1 and set(lanes) >= {"qualify", "proposal", "won", "lost"}
    r = client.post(
        "/a/crm/v/pipeline/move",
        json={"id": deal["id"], "value": "lost", "version": 1},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 409 and "changed this card" in r.json["error"]["message"]
    r = client.post(
        "/a/crm/v/pipeline/move",
        json={"id": deal["id"], "value": "lost", "version": 2},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 422 and "lost reason" in r.json["error"]["message"]
    r = post(
        client, "/a/crm/v/pipeline/move", {"id": deal["id"], "value": "proposal", "version": 2}
    )
    assert r.status_code == 302
    assert tessera.records.get("crm", "opportunity", deal["id"])["stage"] == "proposal"


def test_kanban_move_refusals(client, data):
    token = csrf(client, "/")
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    r = client.post("/a/crm/v/pipeline/move", json={"value": "won"}, headers=headers)
    assert r.status_code == 400
    r = client.post("/a/crm/v/customers/move", json={"id": 1, "value": "x"}, headers=headers)
    assert r.status_code == 404
    r = client.post("/a/crm/v/pipeline/move", json={"id": 999, "value": "won"}, headers=headers)
    assert r.status_code == 404
    r = client.post("/a/crm/v/pipeline/move", json={"id": data["deal"]["id"], "value": "x"})
    assert r.status_code == 400  # no CSRF header


def test_calendar_month_and_week(client, data):
    page = html(client.get("/a/crm/v/follow_up_calendar?date=2026-11-05"))
    assert "Call Acme" in page and "2026-11" in page
    assert "/a/crm/r/follow_up/new?" in page and "next_at=2026-11-20T09:00" in page
    page = html(client.get("/a/crm/v/follow_up_calendar?date=2026-11-18&mode=week"))
    assert "Call Acme" in page and "cal-week" in page
    page = html(client.get("/a/crm/v/follow_up_calendar?date=2026-12-15&mode=week"))
    assert "Call Acme" not in page
    assert client.get("/a/crm/v/follow_up_calendar?date=garbage").status_code == 200


def test_chart_echarts_and_numbers(client, data):
    page = html(client.get("/a/crm/v/forecast_by_stage"))
    assert (
        'class="echart"' in page
        and "vendor/echarts/echarts.min.js" in page
        and "Qualify" in page
        and "500.00" in page
        and "Sum: Weighted forecast" in page
    )


def test_chart_empty_state(client):
    assert "No data to chart yet" in html(client.get("/a/crm/v/forecast_by_stage"))


# -- record page --------------------------------------------------------------------------
def test_record_page_sections_related_and_activity(client, tessera, data):
    acme = data["acme"]
    tessera.records.update("crm", "customer", acme["id"], {"stage": "active"})
    page = html(client.get(f"/a/crm/r/customer/{acme['id']}"))
    finder = Finder(page)
    related = [a["data-related"] for a in finder.find("section", class_="related")]
    for key in ("contact.customer", "follow_up.customer", "opportunity.customer", "order.customer",
                "payment.customer", "ticket.customer"):  # fmt: skip
        assert key in related
    assert re.search(rf'href="/a/crm/r/follow_up/new\?[^"]*customer={acme["id"]}"', page)
    assert "Call Acme" in page and "Big deal" in page
    assert "Lifecycle stage" in page and "created this" in page and "changed" in page
    assert re.search(r"<del>.*Potential.*</del> → <ins>.*Active.*</ins>", page)


# -- forms --------------------------------------------------------------------------------
def test_new_form_sections_defaults_required_prefill(client, data):
    page = html(client.get(f"/a/crm/r/opportunity/new?customer={data['acme']['id']}"))
    finder = Finder(page)
    assert [lg for lg in re.findall(r"<legend>(.*?)</legend>", page)][:3] == [
        "Deal",
        "Dates",
        "Outcome",
    ]
    assert finder.find("select", name="customer", required="")
    assert re.search(rf'<option value="{data["acme"]["id"]}" selected>Acme</option>', page)
    assert re.search(r'<option value="qualify" selected>', page)  # default stage
    assert 'data-field="lost_reason" hidden' in page  # visible_when stage = lost
    assert finder.find("input", type="date", name="close_date")
    assert '"lost_reason": {"field": "stage"' in page  # the rule for the page script


def test_inputs_per_field_type(client):
    page = html(client.get("/a/crm/r/ticket/new"))
    finder = Finder(page)
    assert finder.find("input", type="file", name="attachments", multiple="")
    assert len(finder.find("input", type="radio", name="satisfaction")) == 6  # 5 stars + none
    assert 'enctype="multipart/form-data"' in page
    page = html(client.get("/a/crm/r/customer/new"))
    finder = Finder(page)
    assert len(finder.find("input", type="checkbox", name="tags")) == 5
    assert finder.find("input", type="email", name="email")
    assert finder.find("input", type="number", name="total_spent", step="0.01")
    page = html(client.get("/a/crm/r/follow_up/new"))
    assert Finder(page).find("input", type="datetime-local", name="next_at")
    assert Finder(page).find("select", name="owner")  # user picker lists users
    assert "Bob Sales" in page


def test_create_with_errors_keeps_input_writes_nothing(client, tessera, data):
    form = {
        "name": "Lost deal",
        "customer": str(data["acme"]["id"]),
        "stage": "lost",
        "lost_reason": "",
        "amount": "-5",
    }
    r = post(client, "/a/crm/r/opportunity/new", form)
    assert r.status_code == 422
    page = html(r)
    assert "Nothing was saved" in page and 'value="Lost deal"' in page
    assert re.search(
        r'data-field="lost_reason".*?A lost opportunity needs a lost reason', page, re.S
    )
    assert re.search(r'data-field="amount".*?field-errors', page, re.S)
    assert tessera.queries.list("crm", "opportunity", with_total=True).total == 1


def test_create_then_redirect_to_record_or_next(client, tessera, data):
    r = post(
        client,
        "/a/crm/r/follow_up/new",
        {
            "subject": "Visit",
            "customer": data["acme"]["id"],
            "channel": "visit",
            "done": ["false", "true"],
            "next": f"/a/crm/r/customer/{data['acme']['id']}",
        },
    )
    assert (
        r.status_code == 302 and r.headers["Location"] == f"/a/crm/r/customer/{data['acme']['id']}"
    )
    rows = tessera.queries.list("crm", "follow_up", q="Visit").rows
    assert rows[0]["done"] is True and rows[0]["channel"] == "visit"
    history = tessera.records.history("crm", "follow_up", rows[0]["id"])
    assert history[0]["actor_ref"] == "form:follow_up_form"


def test_server_side_visibility_drops_hidden_fields(client, tessera, data):
    r = post(
        client,
        "/a/crm/r/opportunity/new",
        {
            "name": "Open deal",
            "customer": data["acme"]["id"],
            "stage": "qualify",
            "lost_reason": "sneaky",
        },
    )
    assert r.status_code == 302
    row = tessera.queries.list("crm", "opportunity", q="Open deal").rows[0]
    assert row["lost_reason"] is None


def test_edit_and_conflict_shows_who_changed_what(client, tessera, data):
    acme = data["acme"]
    page = html(client.get(f"/a/crm/r/customer/{acme['id']}/edit"))
    assert 'name="version" value="1"' in page and 'value="Acme"' in page
    tessera.records.update("crm", "customer", acme["id"], {"company": "Acme Corp"})
    r = post(client, f"/a/crm/r/customer/{acme['id']}/edit", {"name": "Acme 2", "version": "1"})
    assert r.status_code == 409
    page = html(r)
    assert "Someone else changed this record" in page and "Acme Corp" in page
    assert 'value="Acme 2"' in page and 'name="version" value="2"' in page
    r = post(client, f"/a/crm/r/customer/{acme['id']}/edit", {"name": "Acme 2", "version": "2"})
    assert r.status_code == 302
    assert tessera.records.get("crm", "customer", acme["id"])["name"] == "Acme 2"


def test_edit_validation_error(client, data):
    r = post(
        client,
        f"/a/crm/r/customer/{data['acme']['id']}/edit",
        {"name": "", "email": "nope", "version": "1"},
    )
    assert r.status_code == 422
    assert re.search(r'data-field="email".*?field-errors', html(r), re.S)


def test_attachments_upload_keep_and_download(client, tessera, data):
    from io import BytesIO

    form = {
        "subject": "Broken",
        "customer": str(data["acme"]["id"]),
        "priority": "normal",
        "status": "open",
        "attachments": [(BytesIO(b"hello"), "note.txt")],
    }
    r = post(client, "/a/crm/r/ticket/new", form, content_type="multipart/form-data")
    assert r.status_code == 302
    ticket_id = int(r.headers["Location"].rsplit("/", 1)[1])
    stored = tessera.records.get("crm", "ticket", ticket_id)["attachments"]
    assert [m["name"] for m in stored] == ["note.txt"]
    page = html(client.get(r.headers["Location"]))
    href = f"/a/crm/r/ticket/{ticket_id}/files/attachments/0"
    assert href in page
    download = client.get(href)
    assert download.data == b"hello" and "note.txt" in download.headers["Content-Disposition"]
    assert client.get(f"/a/crm/r/ticket/{ticket_id}/files/attachments/5").status_code == 404
    assert client.get(f"/a/crm/r/ticket/{ticket_id}/files/subject/0").status_code == 404
    # edit without ticking "keep" removes the file; ticking keeps it
    sha = stored[0]["sha256"]
    post(
        client,
        f"/a/crm/r/ticket/{ticket_id}/edit",
        {
            "subject": "Broken",
            "customer": str(data["acme"]["id"]),
            "attachments__keep": sha,
            "version": "1",
        },
        content_type="multipart/form-data",
    )
    assert tessera.records.get("crm", "ticket", ticket_id)["attachments"][0]["sha256"] == sha
    post(
        client,
        f"/a/crm/r/ticket/{ticket_id}/edit",
        {"subject": "Broken", "customer": str(data["acme"]["id"]), "version": "1"},
        content_type="multipart/form-data",
    )
    assert tessera.records.get("crm", "ticket", ticket_id)["attachments"] is None


def test_delete_record_and_restrict_refusal(client, tessera, data):
    r = post(client, f"/a/crm/r/customer/{data['acme']['id']}/delete")
    assert r.headers["Location"] == f"/a/crm/r/customer/{data['acme']['id']}"
    assert "cannot delete" in html(client.get(r.headers["Location"]))
    r = post(client, f"/a/crm/r/customer/{data['beta']['id']}/delete")
    assert r.status_code == 302 and r.headers["Location"] == "/a/crm/r/customer"
    assert client.get(f"/a/crm/r/customer/{data['beta']['id']}").status_code == 404


def test_lookup_json(client, data):
    r = client.get("/a/crm/r/customer/lookup?q=ac")
    assert r.json == {"results": [{"id": data["acme"]["id"], "title": "Acme"}]}
    assert len(client.get("/a/crm/r/customer/lookup").json["results"]) == 2


def test_static_assets_served_locally(anon):
    for name in ("app.css", "app.js", "favicon.svg"):
        assert anon.get(f"/assets/{name}").status_code == 200
    page = html(anon.get("/login"))
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page
