"""The action registry: one class per workflow action, found by name (like field types).

An action declares its parameters (``required``/``optional``), how its effect relates to
the database (``effect``) and implements ``run`` (do it) and ``preview`` (say what it would
do, for test mode). Built-ins are registered in :mod:`tessera.automation.builtin` through
:func:`register`, the same way a plug-in would.

``effect`` decides how a retried job avoids repeating the step:

- ``local``: the action writes only automation tables through ``ctx.conn``, inside the
  same transaction that marks the step done: exactly once.
- ``record``: the action writes through the records service with ``ctx.actor`` and
  ``conn=ctx.conn``: the record write, its audit entry and outbox event, and the step's
  "done" mark commit in one transaction (fenced by the run's lease): exactly once.
- ``external``: HTTP/SMTP. Done steps are never repeated, but a crash between sending and
  marking sends again: at least once, always with the same ``Idempotency-Key``
  (:attr:`StepContext.idempotency_key`) for the receiver to drop repeats.
- ``control``: ``if``/``wait``/``set_variable``, interpreted by the engine.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tessera.errors import Problem
from tessera.meta.model import App, RecordType, Workflow
from tessera.records.actor import Actor

_REGISTRY: dict[str, Action] = {}


@dataclass
class StepContext:
    """What one action step sees: the run, its record, rendered helpers and the runtime."""

    tessera: Any  # tessera.runtime.Tessera
    app: App
    workflow: Workflow
    run_id: int | None
    path: str
    record: dict[str, Any] | None
    old: dict[str, Any] | None
    vars: dict[str, Any]
    actor: Actor
    render: Callable[[Any], Any]
    conn: sa.Connection | None = None
    dry_run: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)
    event_id: int | None = None

    @property
    def rt(self) -> RecordType | None:
        """The workflow's record type, if it has one."""
        rt_key = self.workflow.record_type
        return self.app.record_type(rt_key) if rt_key and self.app.has_record_type(rt_key) else None

    @property
    def idempotency_key(self) -> str:
        """A stable key for this step of this run, sent to external receivers.

        ``tessera-<run id>-<step path>``: a run is unique per (trigger occurrence — the
        outbox event id for record events —, workflow, record), so every delivery, retry
        and recovery of the same step sends the same key.
        """
        return f"tessera-{self.run_id}-{self.path}"


class ActionError(Exception):
    """An action could not do its work; the message names what and why."""


class Action:
    """Base class of workflow actions. Subclass, set ``name``, implement ``run``."""

    name: str = ""
    label: str = ""
    effect: str = "local"  # local | record | external | control
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    #: parameters left unrendered (conditions, nested actions)
    raw: tuple[str, ...] = ()

    def check(self, params: Mapping[str, Any], app: App, rt: RecordType | None) -> list[Problem]:
        """Static problems of these parameters (paths relative to the action)."""
        problems = [
            Problem(key, f'"{self.name}" needs "{key}"')
            for key in self.required
            if key not in params
        ]
        known = {"do", "label", *self.required, *self.optional, *self.raw}
        for key in params:
            if key not in known:
                hint = _did_you_mean(key, sorted(known))
                problems.append(Problem(key, f'"{self.name}" has no parameter "{key}"', hint=hint))
        return problems

    def effect_for(self, config: Mapping[str, Any]) -> str:
        """The effect kind under this configuration (send_email depends on SMTP_HOST)."""
        return self.effect

    def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """Do the action with rendered ``params``; return what to log as its output."""
        raise NotImplementedError

    def preview(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """What ``run`` would do, without doing it (test mode)."""
        return {"would": self.name, **params}


def register(action: Action) -> Action:
    """Add ``action`` to the registry under ``action.name`` (replacing one of that name)."""
    if not action.name:
        raise ValueError("an action needs a name")
    _REGISTRY[action.name] = action
    return action


def get(name: str) -> Action:
    """The action registered as ``name``; KeyError naming close matches otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = _did_you_mean(name, names())
        raise KeyError(f"unknown action {name!r}" + (f"; {hint}" if hint else "")) from None


def names() -> list[str]:
    """Registered action names, sorted."""
    return sorted(_REGISTRY)


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1)
    return f'did you mean "{close[0]}"?' if close else None
