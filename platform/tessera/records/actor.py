"""Who or what causes a write: kept on every audit entry and outbox event."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("user", "api_token", "workflow", "import", "system")


@dataclass(frozen=True)
class Actor:
    """The cause of a change. ``ref`` links to the token, workflow run or import job."""

    user_id: int | None = None
    kind: str = "system"
    ref: str | None = None
    locale: str = "en"
    depth: int = 0  # workflow chain depth, so robots cannot loop forever
    #: a workflow declared ``run_as: triggering_user`` writes with that user's permissions
    run_as_user: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"actor kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def checked(self) -> bool:
        """True when the access rules apply to this actor's writes.

        People (web, API token, an import someone started) are checked; the system, a
        workflow running as system and a public form (no user) are not.
        """
        if self.user_id is None:
            return False
        return self.kind in ("user", "api_token", "import") or self.run_as_user


SYSTEM = Actor()
