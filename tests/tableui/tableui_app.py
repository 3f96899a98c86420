"""The event app of the table-UI tests (cascades, totals, group-by), importable by name."""

from __future__ import annotations

import yaml

EVENTS = """
id: events
version: 1.0.0
label: {en: Events, zh-CN: 活动}
record_types:
  - key: event
    label: {en: Event, zh-CN: 活动}
    title: name
    fields:
      - {key: name, type: text, required: true, label: {en: Name, zh-CN: 名称}}
      - {key: hosts, type: link_many, to: person, label: {en: Hosts, zh-CN: 主持人}}
      - key: agenda
        type: table
        label: {en: Agenda, zh-CN: 议程}
        fields:
          - {key: topic, type: text, label: {en: Topic, zh-CN: 主题}}
  - key: person
    label: {en: Person, zh-CN: 人员}
    title: name
    fields:
      - {key: name, type: text, required: true, label: {en: Name, zh-CN: 姓名}}
  - key: registration
    label: {en: Registration, zh-CN: 报名}
    title: guest
    fields:
      - {key: guest, type: text, required: true, label: {en: Guest, zh-CN: 来宾}}
      - {key: event, type: link, to: event, on_delete: cascade, label: {en: Event, zh-CN: 活动}}
      - key: kind
        type: select
        label: {en: Kind, zh-CN: 类型}
        options:
          - {value: adult, label: {en: Adult, zh-CN: 成人}}
          - {value: child, label: {en: Child, zh-CN: 儿童}}
      - {key: seats, type: number, scale: 0, label: {en: Seats, zh-CN: 座位}}
      - {key: fee, type: currency, currency: CNY, label: {en: Fee, zh-CN: 费用}}
      - {key: owner, type: user, label: {en: Owner, zh-CN: 负责人}}
      - {key: badge, type: text, set_once: true, label: {en: Badge, zh-CN: 胸牌号}}
  - key: payment
    label: {en: Payment, zh-CN: 付款}
    fields:
      - {key: registration, type: link, to: registration, on_delete: cascade,
         label: {en: Registration, zh-CN: 报名}}
  - key: note
    label: {en: Note, zh-CN: 备注}
    fields:
      - {key: body, type: text, label: {en: Body, zh-CN: 内容}}
      - {key: event, type: link, to: event, on_delete: set_null, label: {en: Event, zh-CN: 活动}}
  - key: invoice
    label: {en: Invoice, zh-CN: 发票}
    title: number
    fields:
      - {key: number, type: text, label: {en: Number, zh-CN: 编号}}
      - {key: registration, type: link, to: registration, on_delete: restrict,
         label: {en: Registration, zh-CN: 报名}}
views:
  - {key: registrations, type: table, record_type: registration,
     columns: [guest, kind, seats, fee, badge], label: {en: Registrations, zh-CN: 报名表}}
  - {key: by_kind, type: table, record_type: registration, group_by: kind,
     columns: [guest, seats, fee], label: {en: By kind, zh-CN: 按类型}}
roles:
  - key: desk
    label: {en: Desk, zh-CN: 前台}
    permissions:
      registration: {create: all, read: own, update: own, fields: {seats: read}}
      event: {read: all}
      person: {read: all}
"""


def events_data() -> dict:
    """The events template as data (a fresh copy to edit)."""
    return yaml.safe_load(EVENTS)


def grant(t, username: str, role: str = "desk") -> int:
    """Give ``username`` a role in the events app; their user id."""
    import sqlalchemy as sa

    from tessera.access.principal import bump_access_version
    from tessera.access.tables import user_roles
    from tessera.storage.system import users

    with t.engine.begin() as conn:
        user_id = conn.scalar(sa.select(users.c.id).where(users.c.username == username))
        conn.execute(user_roles.insert().values(user_id=user_id, app_id="events", role=role))
        bump_access_version(conn)
    return user_id


def install(t, data: dict | None = None) -> None:
    """Install the events app into runtime ``t``."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    data = data or events_data()
    installer.install(t.engine, app_from_data(data), yaml.safe_dump(data))
    t.registry.reload()
