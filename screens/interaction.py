"""The one interaction seam every screen uses to run an action: prepare, ask for what is
missing, confirm, invoke, show the result.

1. prepare: the action is looked up and its parameters validated; an unknown name says which
   names come close; missing or invalid parameters open a form, prefilled from what was given and
   from the selected row, instead of failing.
2. confirm: change and destroy actions show their exact confirmation text first; a refusal (read-
   only, a viewer's role) is still invoked unconfirmed so that it is audited, then said.
3. invoke: as the app's actor (an SSH viewer stays a viewer), with progress in the message area.
4. show: the outcome (done, failed with the backend's own message, refused, cancelled) goes to the
   message area of the screen the user is on.

`perform` must run in a worker (it waits for modals); `start` launches one on the app so that a
screen closing mid-action does not cancel it.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Mapping

from cockpit.actions import ActionError, ActionRefused, Danger, InvalidParams, NeedsConfirmation
from cockpit.params import TextParams
from screens.actor import actor_of
from screens.messages import say as tell


def missing_fields(model: Any, params: Mapping[str, Any]) -> list[str]:
    fields = getattr(model, "model_fields", {})
    return [name for name, field in fields.items() if field.is_required() and name not in params]


def prefill_from_item(model: Any, item: Any) -> dict[str, Any]:
    """Values for the action's fields taken from the selected row, by field name."""
    if item is None:
        return {}
    values: dict[str, Any] = {}
    for name in getattr(model, "model_fields", {}):
        value = item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
        if value is not None and not callable(value):
            values[name] = value
    return values


def suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    return f"did you mean {' or '.join(close)}? " if close else ""


def outcome_text(title: str, result: Any) -> str:
    outputs = getattr(result, "outputs", None) or {}
    shown = ", ".join(f"{k}={v}" for k, v in list(outputs.items())[:4] if not isinstance(v, (dict, list)))
    return f"{title}: done{f' ({shown})' if shown else ''}"


async def perform(node: Any, name: str, params: Mapping[str, Any] | None = None, *, item: Any = None,
                  prefill: Mapping[str, Any] | None = None,
                  progress: Callable[[str], None] | None = None,
                  echo: Callable[[str, str], None] | None = None,
                  confirmed_on_screen: bool = False) -> Any | None:
    """Run one action the way every screen does. Returns the ActionResult, or None when it did
    not run (unknown, cancelled, refused).

    echo(text, kind) also receives every message (a screen that shows outcomes in place);
    confirmed_on_screen: the calling screen itself showed the exact confirmation text and the
    user pressed its button (the GPU assignment and Kubernetes wizard reviews), so no modal."""
    from screens.modals import ConfirmScreen, ParamsForm

    def say(where: Any, text: str, kind: str = "info") -> None:
        tell(where, text, kind)
        if echo is not None:
            echo(text, kind)

    app = getattr(node, "app", node)
    runtime = getattr(node, "runtime", None) or app.runtime
    dispatcher = runtime.dispatcher
    if name not in runtime.registry:
        known = [a.name for a in runtime.registry]
        say(node, f"unknown action {name!r}: {suggest(name, known)}ctrl+p lists every action", "error")
        return None
    action = runtime.registry.get(name)
    title = action.title or name
    # Text typed by a person (`:` line, the form) stays TextParams: the model types it strictly.
    values: dict[str, Any] = TextParams(params) if isinstance(params, TextParams) else dict(params or {})
    error = ""
    if missing_fields(action.params, values):
        error = f"needs {', '.join(missing_fields(action.params, values))}"
    while True:
        if not error:
            try:
                prepared = dispatcher.prepare(name, values)
                break
            except InvalidParams as exc:
                error = str(exc).removeprefix(f"action {name}: ")
            except ActionError as exc:
                say(node, f"{name}: {exc}", "error")
                return None
        say(node, f"{name}: {error}; fill in the form (esc cancels)", "warning")
        suggested = {**prefill_from_item(action.params, item), **dict(prefill or {}), **values}
        answer = await app.push_screen_wait(ParamsForm(action, suggested, error))
        if answer is None:
            say(node, f"{name}: cancelled")
            return None
        values, error = answer, ""
    actor = actor_of(node)
    authorized = None
    if hasattr(dispatcher, "authorize"):
        # The policy runs once, before the confirmation; a refusal is audited there.
        try:
            authorized = await dispatcher.authorize(name, prepared.params, actor=actor)
        except ActionRefused as exc:
            say(node, f"{name} refused: {exc}", "error")
            return None
        except ActionError as exc:
            say(node, f"{name}: {exc}", "error")
            return None
    else:
        refusal = dispatcher.allowed(prepared.action, actor)
        if refusal is not None:
            try:  # invoked anyway so the refusal is audited
                await dispatcher.invoke(name, prepared.params, actor=actor, confirmed=False)
            except ActionError:
                pass
            say(node, f"{name} refused: {refusal}", "error")
            return None
    # What the action would hit now goes into the confirmation; it runs only if the target still
    # reads the same when it starts.
    target = None
    if getattr(prepared.action, "target", None) is not None:
        say(node, f"{name}: reading its target...")
        try:
            target = await dispatcher.read_target(prepared, actor)
        except ActionError as exc:
            say(node, f"{name}: {exc}", "error")
            return None
    if prepared.action.danger is not Danger.READ and not confirmed_on_screen:
        text = prepared.confirmation + (f"\nTarget: {target}" if target is not None else "")
        confirmed = await app.push_screen_wait(ConfirmScreen(name, prepared.action.danger.value, text))
        if not confirmed:
            say(node, f"{name}: cancelled, nothing was done")
            return None
    say(node, f"{title}: running...")

    def report(message: str) -> None:
        say(node, f"{title}: {message}")
        if progress is not None:
            progress(message)

    try:
        extra: dict[str, Any] = {"expect_target": target} if target is not None else {}
        if authorized is not None:
            extra["authorized"] = authorized
        result = await dispatcher.invoke(name, prepared.params, actor=actor, confirmed=True, progress=report, **extra)
    except ActionRefused as exc:
        say(node, f"{name} refused: {exc}", "error")
        return None
    except NeedsConfirmation as exc:  # cannot happen after a confirmation; say it if it does
        say(node, f"{name}: needs confirmation: {exc.text}", "error")
        return None
    except ActionError as exc:
        say(node, f"{name}: {exc}", "error")
        return None
    if result.ok:
        say(node, outcome_text(title, result), "result")
    else:
        say(node, f"{title} failed: {result.error}", "error")
    return result


def start(node: Any, name: str, params: Mapping[str, Any] | None = None, *, item: Any = None,
          prefill: Mapping[str, Any] | None = None, done: Callable[[Any], None] | None = None,
          echo: Callable[[str, str], None] | None = None, confirmed_on_screen: bool = False) -> None:
    """Launch `perform` in a worker on the app; `done(result_or_None)` runs after it."""
    app = getattr(node, "app", node)

    async def run() -> None:
        result = await perform(node, name, params, item=item, prefill=prefill, echo=echo,
                               confirmed_on_screen=confirmed_on_screen)
        if done is not None:
            done(result)

    app.run_worker(run(), group="actions", exclusive=False)
