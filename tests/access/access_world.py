"""A small sales organisation on the built-in CRM, and what each CRM role must see in it.

Teams: ``east`` (manager mgr; rep1) with sub-team ``east_north`` (rep2); ``west`` (rep3).
Customers c1..c3 are owned by rep1..rep3, c4 by nobody (a lead marketing brought in);
each owned customer has a follow-up, an opportunity; c1 and c3 a ticket.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from tessera import users
from tessera.access.principal import bump_access_version
from tessera.access.tables import team_members, teams, user_roles

REPO = Path(__file__).resolve().parents[2]
CRM = REPO / "templates_builtin" / "crm"
PASSWORD = "correct-horse-1"

#: user name -> CRM roles held (admin is users.is_admin; nobody holds no role)
PEOPLE = {
    "admin": (),
    "rep1": ("sales_rep",),
    "rep2": ("sales_rep",),
    "rep3": ("sales_rep",),
    "mgr": ("sales_manager",),
    "agent": ("service_agent",),
    "fin": ("finance",),
    "mkt": ("marketing",),
    "viewer": ("viewer",),
    "nobody": (),
}

#: the user who plays each role in the matrix
PLAYS = {
    "admin": "admin",
    "sales_rep": "rep1",
    "sales_manager": "mgr",
    "service_agent": "agent",
    "finance": "fin",
    "marketing": "mkt",
    "viewer": "viewer",
    "nobody": "nobody",
}

EVERYTHING = {
    "customer": {"c1", "c2", "c3", "c4"},
    "follow_up": {"f1", "f2", "f3"},
    "opportunity": {"o1", "o2", "o3"},
    "ticket": {"t1", "t3"},
}
NOTHING = {k: set() for k in EVERYTHING}

#: opportunity amounts (probability 100): every sum of a subset is a distinct number
AMOUNTS = {"o1": 1111, "o2": 2222, "o3": 4444}

#: role -> record type -> the records (by name) the role reads
READS = {
    "admin": EVERYTHING,
    "sales_rep": {  # c4, nobody's, is in the customer pool
        "customer": {"c1", "c4"},
        "follow_up": {"f1"},
        "opportunity": {"o1"},
        "ticket": {"t1"},
    },
    "sales_manager": {
        "customer": {"c1", "c2"},
        "follow_up": {"f1", "f2"},
        "opportunity": {"o1", "o2"},
        "ticket": {"t1", "t3"},
    },
    "service_agent": {**EVERYTHING, "opportunity": set()},
    "finance": EVERYTHING,
    "marketing": {**NOTHING, "customer": EVERYTHING["customer"]},
    "viewer": EVERYTHING,
    "nobody": NOTHING,
}

#: role -> record type -> fields absent from what the role reads
HIDDEN = {
    "sales_rep": {"customer": {"credit_limit"}},
    "service_agent": {"customer": {"credit_limit", "total_spent"}},
    "marketing": {"customer": {"credit_limit", "total_spent"}},
    "viewer": {"customer": {"credit_limit"}},
}

#: role -> record types it may create (a child of c1, or a fresh customer)
CREATES = {
    "admin": set(EVERYTHING),
    "sales_rep": set(EVERYTHING),
    "sales_manager": {"customer", "follow_up", "opportunity"},
    "service_agent": {"follow_up", "ticket"},
    "finance": set(),
    "marketing": {"customer"},
    "viewer": set(),
    "nobody": set(),
}

#: role -> record type -> records whose note-like field it may change
UPDATES = {
    "admin": EVERYTHING,
    "sales_rep": {"customer": {"c1"}, "follow_up": {"f1"}, "opportunity": {"o1"}, "ticket": set()},
    "sales_manager": {
        "customer": {"c1", "c2"},
        "follow_up": {"f1", "f2"},
        "opportunity": {"o1", "o2"},
        "ticket": set(),
    },
    "service_agent": {**NOTHING, "ticket": {"t1", "t3"}},
    "finance": NOTHING,  # customers too: finance changes only credit_limit (see FIELD_WRITES)
    "marketing": {**NOTHING, "customer": {"c4"}},
    "viewer": NOTHING,
    "nobody": NOTHING,
}

#: role -> record type -> records it may delete (a delete may still be blocked by links)
DELETES = {
    "admin": EVERYTHING,
    "sales_rep": {**NOTHING, "follow_up": {"f1"}, "opportunity": {"o1"}},
    "sales_manager": {**UPDATES["sales_manager"], "ticket": set()},
    "service_agent": NOTHING,
    "finance": NOTHING,
    "marketing": NOTHING,
    "viewer": NOTHING,
    "nobody": NOTHING,
}

#: the field each record type's update test changes
NOTE = {
    "customer": "notes",
    "follow_up": "notes",
    "opportunity": "lost_reason",
    "ticket": "description",
}

#: (role, customer field) -> may the role change it on c1 (when it may update c1 at all)
FIELD_WRITES = {
    ("sales_rep", "tier"): False,
    ("sales_rep", "credit_limit"): False,
    ("sales_manager", "tier"): True,
    ("sales_manager", "credit_limit"): False,
    ("finance", "credit_limit"): True,
    ("finance", "tier"): False,
    ("admin", "credit_limit"): True,
}


def build(t) -> dict:
    """Install the CRM, create the people, teams and records; names -> ids."""
    from tessera.meta import load_app
    from tessera.storage import installer

    installer.install(t.engine, load_app(CRM), (CRM / "template.yaml").read_text())
    t.registry.reload()
    ids: dict[str, int] = {}
    for name, roles in PEOPLE.items():
        ids[name] = users.create_user(t.engine, name, PASSWORD, is_admin=name == "admin")
        grant(t.engine, ids[name], roles)
    _teams(t.engine, ids)
    _records(t, ids)
    return ids


def grant(engine: sa.Engine, user_id: int, roles, app_id: str = "crm") -> None:
    """Give a user roles in an app."""
    with engine.begin() as conn:
        bump_access_version(conn)  # direct writes to access tables advance the counter
        for role in roles:
            conn.execute(user_roles.insert().values(user_id=user_id, app_id=app_id, role=role))


def _teams(engine: sa.Engine, ids: dict) -> None:
    with engine.begin() as conn:
        bump_access_version(conn)
        conn.execute(teams.insert().values(name="east", manager_id=ids["mgr"]))
        east = _team_id(conn, "east")
        conn.execute(teams.insert().values(name="east_north", parent_id=east))
        conn.execute(teams.insert().values(name="west"))
        for team, user in (("east", "rep1"), ("east_north", "rep2"), ("west", "rep3")):
            conn.execute(
                team_members.insert().values(team_id=_team_id(conn, team), user_id=ids[user])
            )


def _team_id(conn, name: str) -> int:
    return conn.scalar(sa.select(teams.c.id).where(teams.c.name == name))


def _records(t, ids: dict) -> None:
    rec = t.records
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for n, owner in (("1", "rep1"), ("2", "rep2"), ("3", "rep3"), ("4", None)):
        values = {"name": f"c{n}", "total_spent": "1000", "credit_limit": "777123"}
        values["owner"] = ids[owner] if owner else None
        ids[f"c{n}"] = rec.create("crm", "customer", values)["id"]
    for n in ("1", "2", "3"):
        owner, customer = ids[f"rep{n}"], ids[f"c{n}"]
        ids[f"f{n}"] = rec.create(
            "crm",
            "follow_up",
            {"subject": f"f{n}", "customer": customer, "owner": owner, "next_at": today},
        )["id"]
        ids[f"o{n}"] = rec.create(
            "crm",
            "opportunity",
            {
                "name": f"o{n}",
                "customer": customer,
                "owner": owner,
                "probability": 100,
                "amount": AMOUNTS[f"o{n}"],
            },
        )["id"]
    for n, assignee in (("1", ids["agent"]), ("3", None)):
        ids[f"t{n}"] = rec.create(
            "crm", "ticket", {"subject": f"t{n}", "customer": ids[f"c{n}"], "assignee": assignee}
        )["id"]


def names(rows) -> set[str]:
    """The names/subjects of rows (what the world calls them)."""
    return {r.get("name") or r.get("subject") for r in rows}


def new_values(rt_key: str, ids: dict) -> dict:
    """A valid new record of ``rt_key`` (children hang off c1)."""
    return {
        "customer": {"name": "new customer"},
        "follow_up": {"subject": "new follow-up", "customer": ids["c1"]},
        "opportunity": {"name": "new deal", "customer": ids["c1"], "amount": "5"},
        "ticket": {"subject": "new ticket", "customer": ids["c1"]},
    }[rt_key]


def login(client, username: str):
    """Sign a test client in through the form."""
    import re

    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "_csrf": token})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]
    return client
