"""The action layer: every change the cockpit makes goes through here.

The screen, the plan runner, SSH sessions and the Python API all call `Dispatcher.invoke`.
An action has a name, a typed parameter model, a danger level, a confirmation text that says
exactly what will happen, and it is audited before and after it runs.
"""

from __future__ import annotations

import asyncio
import enum
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generic, Iterator, Mapping, TypeVar

from cockpit.audit import AuditLog, AuditUnavailable
from cockpit.redact import redact, register_secrets_in
from cockpit.errors import format_validation_error
from cockpit.params import ParamError, prepare_raw

if TYPE_CHECKING:  # pydantic is imported where params are validated: the screen's first frame needs none
    from pydantic import BaseModel

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

P = TypeVar("P", bound="BaseModel")


class Danger(str, enum.Enum):
    READ = "read"
    CHANGE = "change"
    DESTROY = "destroy"

    @property
    def rank(self) -> int:
        return {"read": 0, "change": 1, "destroy": 2}[self.value]


class ActionError(Exception):
    """An action could not run or failed; the message says what and what to do next."""


class UnknownAction(ActionError):
    pass


class InvalidParams(ActionError):
    pass


class ActionRefused(ActionError):
    """Refused by policy (read-only mode, viewer role) or by a safety check."""


class AuditUnavailableError(ActionRefused):
    """The audit log could not take a record: the action is refused (or, for an end record,
    its outcome is unrecorded)."""


class NeedsConfirmation(ActionError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Actor:
    """Who asks: a local user on the TUI, a plan, an SSH key."""

    name: str
    via: str = "cli"  # tui | cli | plan | ssh | api
    role: str = "operator"  # viewer | operator
    key_fingerprint: str | None = None

    def as_record(self) -> dict[str, Any]:
        rec = {"name": self.name, "via": self.via, "role": self.role}
        if self.key_fingerprint:
            rec["key_fingerprint"] = self.key_fingerprint
        return rec


def local_actor(via: str = "cli") -> Actor:
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (containers)
        user = "unknown"
    return Actor(name=user, via=via)


@dataclass
class ActionContext:
    runtime: "Runtime"
    actor: Actor
    progress: Callable[[str], None] = lambda message: None

    def adapter(self, name: str) -> Any:
        return self.runtime.adapter(name)


@dataclass(frozen=True)
class Action(Generic[P]):
    name: str
    params: type[P]
    danger: Danger
    run: Callable[[ActionContext, P], Awaitable[Any]]
    title: str = ""
    # Text that shows exactly what will happen, built from the validated params.
    confirm: Callable[[P], str] | None = None
    # Sources to refresh after the action finished.
    refresh: tuple[str, ...] = ()
    # Reads what the action would hit now ("job 5 'train' of alice, submitted ..."): shown with
    # the confirmation and read again just before running; a different answer refuses the action.
    target: Callable[[ActionContext, P], Awaitable[str]] | None = None

    def confirmation(self, params: P) -> str:
        if self.confirm is not None:
            return self.confirm(params)
        shown = ", ".join(f"{k}={v!r}" for k, v in redact(params.model_dump(mode="json")).items())
        return f"{self.title or self.name}({shown})"


class ActionRegistry:
    """Named actions. With a loader, the action modules are imported on first use, so start-up
    (the screen's first frame, a one-shot snapshot) does not pay for importing every area."""

    def __init__(self, loader: Callable[["ActionRegistry"], None] | None = None) -> None:
        self._actions: dict[str, Action[Any]] = {}
        self._loader = loader

    def _ensure_loaded(self) -> None:
        loader, self._loader = self._loader, None
        if loader is not None:
            loader(self)

    def add(self, action: Action[Any]) -> Action[Any]:
        if action.name in self._actions:
            raise ValueError(f"action {action.name!r} registered twice")
        self._actions[action.name] = action
        return action

    def action(
        self,
        name: str,
        params: type[P],
        danger: Danger,
        *,
        title: str = "",
        confirm: Callable[[P], str] | None = None,
        refresh: tuple[str, ...] = (),
        target: Callable[[ActionContext, P], Awaitable[str]] | None = None,
    ) -> Callable[[Callable[[ActionContext, P], Awaitable[Any]]], Callable[[ActionContext, P], Awaitable[Any]]]:
        def decorate(fn: Callable[[ActionContext, P], Awaitable[Any]]) -> Callable[[ActionContext, P], Awaitable[Any]]:
            doc = (fn.__doc__ or "").strip()
            shown = title or (doc.splitlines()[0] if doc else name)
            self.add(Action(name=name, params=params, danger=danger, run=fn, title=shown, confirm=confirm, refresh=refresh,
                            target=target))
            return fn

        return decorate

    def get(self, name: str) -> Action[Any]:
        self._ensure_loaded()
        try:
            return self._actions[name]
        except KeyError:
            known = ", ".join(sorted(self._actions)) or "none"
            raise UnknownAction(f"unknown action {name!r} (known: {known})") from None

    def __iter__(self) -> Iterator[Action[Any]]:
        self._ensure_loaded()
        return iter(sorted(self._actions.values(), key=lambda a: a.name))

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._actions


@dataclass(frozen=True)
class Prepared:
    action: Action[Any]
    params: BaseModel
    confirmation: str


@dataclass(frozen=True)
class Authorized:
    """An action the policy allowed for one actor, with valid parameters: made only by
    Dispatcher.authorize, run by Dispatcher.invoke(..., authorized=...) without checking again."""

    id: str
    prepared: Prepared
    actor: Actor
    record: Mapping[str, Any]  # what every audit record of this action carries


@dataclass(frozen=True)
class ActionResult:
    id: str
    action: str
    ok: bool
    result: Any = None
    error: str | None = None
    duration_s: float = 0.0
    outputs: Mapping[str, Any] = field(default_factory=dict)


class Dispatcher:
    def __init__(self, registry: ActionRegistry, audit: AuditLog, runtime: "Runtime", *, read_only: bool = False) -> None:
        self.registry = registry
        self.audit = audit
        self.runtime = runtime
        self.read_only = read_only

    def prepare(self, name: str, params: Mapping[str, Any] | BaseModel | None = None) -> Prepared:
        from pydantic import BaseModel, ValidationError

        action = self.registry.get(name)
        register_secrets_in(params.model_dump() if isinstance(params, BaseModel) else params)
        if isinstance(params, action.params):
            model = params
        else:
            raw = params.model_dump() if isinstance(params, BaseModel) else (params or {})
            try:
                model = action.params.model_validate(prepare_raw(action.params, raw))
            except ParamError as exc:
                raise InvalidParams(f"action {name}: {exc}") from None
            except ValidationError as exc:
                raise InvalidParams(f"action {name}: " + "; ".join(format_validation_error(exc))) from None
        register_secrets_in(model.model_dump())  # SecretStr fields, env values of secret-looking names
        return Prepared(action=action, params=model, confirmation=action.confirmation(model))

    def allowed(self, action: Action[Any], actor: Actor) -> str | None:
        """None when allowed, else the reason for refusing."""
        if action.danger is Danger.READ:
            return None
        if self.read_only:
            return f"read-only mode: {action.name} ({action.danger.value}) is refused"
        if actor.role == "viewer":
            return f"role viewer may not run {action.name} ({action.danger.value})"
        return None

    async def authorize(self, name: str, params: Mapping[str, Any] | BaseModel | None = None, *,
                        actor: Actor) -> Authorized:
        """Validate the parameters and apply the policy, once per action: invalid parameters and
        refusals are audited and raised. A screen authorizes before it asks for confirmation."""
        action_id = uuid.uuid4().hex[:12]
        try:
            prepared = self.prepare(name, params)
        except ActionError as exc:
            await self._audit({"event": "action.invalid", "id": action_id, "action": name, "actor": actor.as_record(), "error": str(exc)})
            raise
        action = prepared.action
        base = {"id": action_id, "action": name, "danger": action.danger.value, "actor": actor.as_record(),
                "params": prepared.params.model_dump(mode="json"), "pid": os.getpid(), "host": socket.gethostname()}
        reason = self.allowed(action, actor)
        if reason is not None:
            await self._audit({"event": "action.refused", **base, "reason": reason})
            raise ActionRefused(reason)
        return Authorized(id=action_id, prepared=prepared, actor=actor, record=base)

    async def read_target(self, prepared: Prepared, actor: Actor) -> str | None:
        """What the action would hit now (None when the action names no target); ActionRefused
        when the target cannot be read (gone, or its source unreachable)."""
        action = prepared.action
        if action.target is None:
            return None
        ctx = ActionContext(runtime=self.runtime, actor=actor)
        try:
            return await action.target(ctx, prepared.params)
        except ActionError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to read the target refuses
            raise ActionRefused(f"{action.name}: cannot read its target: {str(exc) or type(exc).__name__}") from None

    async def invoke(
        self,
        name: str,
        params: Mapping[str, Any] | BaseModel | None = None,
        *,
        actor: Actor,
        confirmed: bool = False,
        progress: Callable[[str], None] | None = None,
        expect_target: str | None = None,
        authorized: Authorized | None = None,
    ) -> ActionResult:
        """Run an action. `expect_target`: the target text the confirmation showed; when the
        target reads differently now, the action is refused. `authorized`: the ticket of an
        earlier authorize() (a screen's, before it asked for confirmation), so the parameters and
        the policy are checked once per action."""
        if authorized is None:
            authorized = await self.authorize(name, params, actor=actor)
        elif authorized.actor != actor or authorized.prepared.action.name != name:
            raise ActionRefused(f"{name}: authorized for {authorized.prepared.action.name} by "
                                f"{authorized.actor.name}, not for this call")
        action_id, prepared, base = authorized.id, authorized.prepared, dict(authorized.record)
        action = prepared.action
        if action.danger is not Danger.READ and not confirmed:
            raise NeedsConfirmation(prepared.confirmation)
        confirmation = prepared.confirmation
        if action.target is not None:
            try:
                current = await self.read_target(prepared, actor)
            except ActionError as exc:
                if expect_target is not None:  # the confirmed target is gone
                    reason = f"{exc}; the confirmation showed {expect_target}; nothing was done"
                    await self._audit({"event": "action.refused", **base, "reason": reason})
                    raise ActionRefused(reason) from None
                current = f"unreadable ({exc})"  # nothing was confirmed: the action reports its own failure
            if expect_target is not None and current != expect_target:
                reason = (f"{name}: the target changed since the confirmation (confirmed: {expect_target}; "
                          f"now: {current}); nothing was done, look again and re-confirm")
                await self._audit({"event": "action.refused", **base, "reason": reason})
                raise ActionRefused(reason)
            confirmation = f"{confirmation}\nTarget: {current}"
        await self._audit({"event": "action.start", **base, "confirmation": confirmation})
        ctx = ActionContext(runtime=self.runtime, actor=actor, progress=progress or (lambda message: None))
        started = time.perf_counter()
        try:
            result = await action.run(ctx, prepared.params)
        except ActionRefused as exc:  # a safety check inside the action said no
            await self._audit({"event": "action.end", **base, "ok": False, "refused": True, "error": str(exc),
                              "duration_s": round(time.perf_counter() - started, 3)})
            raise
        except asyncio.CancelledError:
            try:
                await self._audit({"event": "action.end", **base, "ok": False, "error": "cancelled",
                             "duration_s": round(time.perf_counter() - started, 3)})
            except AuditUnavailableError:
                pass  # the cancellation goes on; the next start's recovery pass records it as lost
            raise
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            await self._audit({"event": "action.end", **base, "ok": False, "error": message,
                              "duration_s": round(time.perf_counter() - started, 3)})
            self._refresh(action)
            return ActionResult(id=action_id, action=name, ok=False, error=message,
                                duration_s=time.perf_counter() - started)
        duration = time.perf_counter() - started
        outputs = result if isinstance(result, Mapping) else ({"result": result} if result is not None else {})
        await self._audit({"event": "action.end", **base, "ok": True, "result": outputs, "duration_s": round(duration, 3)})
        self._refresh(action)
        return ActionResult(id=action_id, action=name, ok=True, result=result, duration_s=duration, outputs=dict(outputs))

    async def _audit(self, record: Mapping[str, Any]) -> None:
        """Write one audit record, in a worker thread (the event loop, and with it every screen and
        SSH viewer, never waits on the disk); when the log cannot take it, nothing runs:
        ActionRefused."""
        try:
            await asyncio.to_thread(self.audit.write, record)
        except AuditUnavailable as exc:
            event = record.get("event")
            if event == "action.end":
                raise AuditUnavailableError(f"{record.get('action')} ran, but {exc}; its outcome is "
                                            "recorded nowhere: check the target by hand") from None
            raise AuditUnavailableError(f"{exc}; {record.get('action')} was not run") from None

    def _refresh(self, action: Action[Any]) -> None:
        hub = self.runtime.hub
        for source in action.refresh:
            if source in hub.collectors:
                hub.collectors[source].poke()
