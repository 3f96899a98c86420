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

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"actor kind {self.kind!r} is not one of {', '.join(KINDS)}")


SYSTEM = Actor()
