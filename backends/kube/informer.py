"""List-then-watch informers (client-go's reflector, in asyncio).

An informer lists a resource (in pages), then watches from the list's resourceVersion. A watch
ERROR event with 410 Expired (or an HTTP 410) means the resourceVersion was compacted away: it
re-lists. A broken or ended stream is resumed from the last resourceVersion seen (bookmarks
included), with exponential backoff while the apiserver cannot be reached.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable

from backends.kube.api import KubeApi, KubeError, KubeUnavailable
from backends.kube.resources import Resource

log = logging.getLogger(__name__)

EventHandler = Callable[[str, Any], None]  # ("SYNC", None) after a (re)list, else (type, object)


class Expired(Exception):
    pass


def uid_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace', '')}/{meta.get('name', '')}"


class Informer:
    def __init__(self, api: KubeApi, resource: Resource, *, namespace: str | None = None,
                 label_selector: str | None = None, page_size: int = 500, on_event: EventHandler | None = None,
                 watch_timeout: int = 300, backoff_base: float = 0.5, backoff_cap: float = 30.0) -> None:
        self.api, self.resource, self.namespace = api, resource, namespace
        self.label_selector, self.page_size = label_selector, page_size
        self.on_event = on_event or (lambda kind, obj: None)
        self.watch_timeout, self.backoff_base, self.backoff_cap = watch_timeout, backoff_base, backoff_cap
        self.objects: dict[str, dict[str, Any]] = {}
        self.resource_version: str | None = None
        self.synced = asyncio.Event()
        self.error: str | None = None  # set while the apiserver cannot be reached
        self.lists = 0
        self.relists_on_410 = 0
        self.reconnects = 0

    @property
    def path(self) -> str:
        return self.resource.path(self.namespace)

    async def list_all(self) -> tuple[list[dict[str, Any]], str]:
        """All objects and the list's resourceVersion; restarts when a continue token expires."""
        while True:
            items: list[dict[str, Any]] = []
            token: str | None = None
            try:
                while True:
                    page = await self.api.get(self.path, limit=self.page_size, labelSelector=self.label_selector,
                                              **({"continue": token} if token else {}))
                    items.extend(page.get("items") or [])
                    meta = page.get("metadata") or {}
                    token = meta.get("continue") or None
                    if not token:
                        return items, str(meta.get("resourceVersion") or "")
            except KubeError as exc:
                if exc.status == 410 and token:
                    log.info("continue token for %s expired; listing again", self.resource.plural)
                    continue
                raise

    async def relist(self) -> None:
        items, rv = await self.list_all()
        self.lists += 1
        self.objects = {uid_of(o): o for o in items}
        self.resource_version = rv
        self.synced.set()
        self.on_event("SYNC", None)

    async def watch_once(self) -> None:
        """One watch request from the current resourceVersion until the server ends it."""
        query = {"watch": "true", "resourceVersion": self.resource_version, "allowWatchBookmarks": "true",
                 "timeoutSeconds": self.watch_timeout, "labelSelector": self.label_selector}
        try:
            async for line in self.api.lines(self.path, query=query, read_timeout=self.watch_timeout + 30):
                if not line.strip():
                    continue
                event = json.loads(line)
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        raise Expired(obj.get("message") or "resourceVersion expired")
                    raise KubeError(int(obj.get("code") or 500), obj.get("reason") or "Error", obj.get("message") or "")
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if etype == "BOOKMARK":
                    self.resource_version = rv or self.resource_version
                    continue
                uid = uid_of(obj)
                if etype == "DELETED":
                    self.objects.pop(uid, None)
                else:
                    self.objects[uid] = obj
                if rv:
                    self.resource_version = rv
                self.error = None
                self.on_event(etype, obj)
        except KubeError as exc:
            if exc.status == 410:
                raise Expired(exc.message) from None
            raise

    async def run(self) -> None:
        """List, then watch forever (until cancelled)."""
        failures = 0
        need_list = True
        while True:
            try:
                if need_list:
                    await self.relist()
                    need_list = False
                await self.watch_once()
                failures = 0
                self.error = None
            except Expired as exc:
                log.info("watch of %s expired (%s): re-listing", self.resource.plural, exc)
                self.relists_on_410 += 1
                need_list = True
            except (KubeUnavailable, KubeError) as exc:
                self.error = str(exc)
                failures += 1
                self.reconnects += 1
                delay = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
                log.debug("watch of %s failed (%s); retry in %.1fs", self.resource.plural, exc, delay)
                await asyncio.sleep(delay)
