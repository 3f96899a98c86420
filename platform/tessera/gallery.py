"""The template gallery: the built-in templates under ``templates_builtin/``, ready to install.

Each folder holds ``template.yaml`` (the app), optionally ``demo.yaml`` (sample records,
see :mod:`tessera.demo`) and ``gallery.yaml`` (its card: ``icon``, ``order``, and
``init: false`` when ``flask init`` should leave it to the gallery instead of installing
it on a fresh database). The card's words (label, description) and its preview (record
types with their fields, views, forms, workflows) come from the template itself, so a
template never describes itself twice.

:func:`install` goes through exactly the path of ``flask template install`` (validate,
compile, :func:`tessera.storage.installer.install`, reload) and then, when asked, loads
the demo data through the records service like ``flask demo``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tessera.errors import TesseraError
from tessera.meta import load_app
from tessera.meta.model import App

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "templates_builtin"


class GalleryError(TesseraError):
    """A gallery template is unknown, already installed, or failed to install."""


@dataclass(frozen=True)
class Entry:
    """One card of the gallery."""

    name: str  # the folder name
    app: App
    icon: str = "📦"
    order: int = 100
    init: bool = True
    has_demo: bool = False
    demo_counts: dict[str, int] = field(default_factory=dict)


def _card(folder: Path) -> dict[str, Any]:
    path = folder / "gallery.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    return data if isinstance(data, dict) else {}


def _demo_counts(folder: Path) -> dict[str, int]:
    path = folder / "demo.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    return {k: len(v) for k, v in data.items() if isinstance(v, list)}


def folders(root: Path = BUILTIN_DIR) -> list[Path]:
    """Template folders (those holding a template.yaml), in name order."""
    return sorted(p for p in root.iterdir() if (p / "template.yaml").exists())


def starts_on_init(folder: Path) -> bool:
    """Whether ``flask init`` installs this built-in template on a fresh database."""
    return bool(_card(folder).get("init", True))


def entries(root: Path = BUILTIN_DIR) -> list[Entry]:
    """Every built-in template as a gallery card, in the cards' order."""
    out = []
    for folder in folders(root):
        card = _card(folder)
        counts = _demo_counts(folder)
        out.append(
            Entry(
                name=folder.name,
                app=load_app(folder),
                icon=str(card.get("icon", "📦")),
                order=int(card.get("order", 100)),
                init=bool(card.get("init", True)),
                has_demo=bool(counts),
                demo_counts=counts,
            )
        )
    return sorted(out, key=lambda e: (e.order, e.name))


def entry(name: str, root: Path = BUILTIN_DIR) -> Entry:
    """The card of the folder ``name`` (GalleryError if there is none)."""
    found = next((e for e in entries(root) if e.name == name), None)
    if found is None:
        raise GalleryError(f"no built-in template called {name!r}")
    return found


def install(
    tessera: Any, name: str, *, demo: bool, user: int | None = None, root: Path = BUILTIN_DIR
) -> dict[str, int]:
    """Install the built-in template ``name``, with its demo data when ``demo``.

    Answers how many demo records were created per record type. A failed demo load
    leaves the app installed and empty (the demo loader removes what it created).
    """
    from tessera.demo import load_demo
    from tessera.storage import installer

    card = entry(name, root)
    if card.app.id in tessera.registry.apps:
        raise GalleryError(f"app {card.app.id!r} is already installed")
    folder = root / name
    installer.install(tessera.engine, card.app, (folder / "template.yaml").read_text("utf-8"), user)
    tessera.registry.reload()
    if not (demo and card.has_demo):
        return {}
    try:
        return load_demo(tessera, card.app.id, folder / "demo.yaml")
    except TesseraError as exc:
        raise GalleryError(f"{card.app.id} is installed, but its demo data was not: {exc}") from exc
