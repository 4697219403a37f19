"""Who is acting from a screen: the app's actor (an SSH viewer's key and role, or the local user),
never a hard-coded local operator, so a viewer's role holds on every screen."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cockpit.actions import Actor, local_actor


def actor_of(node: Any, via: str | None = None) -> Actor:
    app = getattr(node, "app", node)
    actor = getattr(app, "actor", None)
    if not isinstance(actor, Actor):
        actor = local_actor("tui")
    return replace(actor, via=via) if via else actor
