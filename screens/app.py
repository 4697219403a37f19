"""The Textual application: renders snapshots, dispatches actions by name. Never calls a backend."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import signal
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Input

from cockpit.actions import ActionError, ActionRefused, Actor, Authorized, Danger, NeedsConfirmation, local_actor
from cockpit.commands import COMMANDS as COMMAND_REGISTRY, effective_keys, unknown_keymap_entries
from cockpit.params import TextParams
from cockpit.snapshot import Snapshot
from screens.dashboard import PANE_OF_SOURCE, PANES, Dashboard
from screens.modals import ActionMenu, ConfirmScreen, DetailScreen, HelpScreen, detail_renderable
from screens.pane import SourceTable, render_module

if TYPE_CHECKING:
    from cockpit.runtime import Runtime


class NoWaitExecutor(ThreadPoolExecutor):
    """The loop's default executor for backend calls: shutting down does not join threads that
    are stuck in a backend (asyncio.run would otherwise wait for them when the app quits)."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


class SnapshotArrived(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class CockpitCommands(Provider):
    """ctrl+p: every command of the registry plus every action (opens the `:` line prefilled)."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, CockpitApp)
        matcher = self.matcher(query)
        for command in COMMAND_REGISTRY:
            if command.id == "palette":
                continue
            score = matcher.match(f"{command.id} {command.description}")
            if score > 0:
                yield Hit(score, matcher.highlight(command.description), partial(app.run_action, command.action),
                          help=f"key: {command.key}")
        score = matcher.match("provisioning ansible runs hosts tasks")
        if score > 0:
            yield Hit(score, matcher.highlight("provisioning: Ansible runs, hosts x tasks live"), app.open_provisioning,
                      help=":provisioning")
        score = matcher.match("status clusters hpc cloud health")
        if score > 0:
            yield Hit(score, matcher.highlight("status: one line per cluster (VMs, scheduler, storage, GPUs)"),
                      app.open_cluster_status, help=":status")
        score = matcher.match("plan open run DAG")
        if score > 0:
            yield Hit(score, matcher.highlight("plan: open, run and watch a plan"), app.open_plan, help=":plan [PATH]")
        for action in app.runtime.registry:
            score = matcher.match(f"{action.name} {action.title}")
            if score > 0:
                yield Hit(score, matcher.highlight(f"{action.name}: {action.title}"),
                          partial(app.open_command_line, f"{action.name} "), help=f"danger: {action.danger.value}")


class CockpitApp(App[int]):
    TITLE = "AI-HOW Cockpit"
    CSS_PATH = Path(__file__).with_name("cockpit.tcss")  # absolute: subclasses live elsewhere
    COMMANDS = App.COMMANDS | {CockpitCommands}
    BINDINGS = [
        # Not priority bindings: the `:` and `/` prompts must be able to take q, ?, / and : as text.
        Binding(c.key, c.action, c.label, show=c.show, id=c.id, tooltip=c.description)
        for c in COMMAND_REGISTRY if c.id != "palette"
    ]

    def __init__(self, runtime: "Runtime", *, actor: Actor | None = None, low_bandwidth: bool = False,
                 owns_hub: bool = True, driver_class: Any = None) -> None:
        super().__init__(driver_class=driver_class)
        if low_bandwidth:
            self.animation_level = "none"
        self.runtime = runtime
        self.actor = actor or local_actor("tui")
        self.low_bandwidth = low_bandwidth
        self.owns_hub = owns_hub
        self._unsubscribe: Callable[[], None] | None = None
        self._unwatch: list[Callable[[], None]] = []
        self.dashboard = Dashboard(frozenset(name for name, c in runtime.hub.collectors.items() if not c.configured))
        read_only = runtime.read_only or self.actor.role == "viewer"
        self.sub_title = f"{runtime.loaded.config.metadata.name}{'  [read-only]' if read_only else ''}"

    # -- lifecycle ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.owns_hub:
            # Quitting must not wait for a backend call that hangs in a worker thread.
            asyncio.get_running_loop().set_default_executor(NoWaitExecutor(thread_name_prefix="cockpit-io"))
        cfg = self.runtime.loaded.config.cockpit
        keymap = dict(cfg.keymap)
        if keymap:
            bad = unknown_keymap_entries(keymap)
            self.set_keymap({k: v for k, v in effective_keys(keymap).items() if k in keymap})
            if bad:
                self.notify(f"keymap: unknown command ids {', '.join(bad)}", severity="warning")
        try:
            self.theme = cfg.theme
        except Exception:
            self.notify(f"unknown theme {cfg.theme!r}; using the default", severity="warning")
        self.push_screen(self.dashboard)
        if self.runtime.audit_problem:
            self.notify(f"{self.runtime.audit_problem}: actions are refused until it can be written; "
                        "monitoring goes on", title="audit log", severity="error", timeout=30)
        hub = self.runtime.hub
        # Ansible runs are not on the first frame: attach their source once the screen is up.
        self.set_timer(1.0, self._attach_provisioning)
        self._unsubscribe = hub.subscribe_all(lambda snap: self.post_message(SnapshotArrived(snap)))
        self._unwatch = [c.watch() for c in hub.collectors.values()]
        if self.owns_hub and not hub.started:
            hub.start()
        self.call_after_refresh(self._show_all)
        # Ages are shown in 5 s buckets: a 2.5 s tick keeps them right without busy redraws.
        self.set_interval(5.0 if self.low_bandwidth else 2.5, self._tick_status)

    def _attach_provisioning(self) -> None:
        """Ansible runs are a source of their own (not one of the six panes): shown on demand."""
        try:
            self.runtime.provisioning()
        except ImportError:
            return
        except Exception as exc:
            self.notify(f"provisioning runs unavailable: {exc}", severity="warning")

    def open_cluster_status(self) -> None:
        from screens.cluster_status import ClusterStatusScreen

        self.push_screen(ClusterStatusScreen(self.runtime))

    def open_provisioning(self) -> None:
        try:
            from screens.provisioning_run import ProvisioningRunScreen
        except ImportError as exc:
            self.dashboard.say(f"provisioning view unavailable: {exc}", error=True)
            return
        self.push_screen(ProvisioningRunScreen(self.runtime))

    def _show_all(self) -> None:
        for snap in self.runtime.hub.snapshots().values():
            self._show(snap)
        tables = list(self.dashboard.query(SourceTable))
        if tables:
            tables[0].focus()

    async def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        for unwatch in self._unwatch:
            unwatch()
        if self.owns_hub:
            await self.runtime.close()

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self._show(message.snapshot)

    def _show(self, snap: Snapshot) -> None:
        pane_id = PANE_OF_SOURCE.get(snap.source)
        if pane_id is None or not self.dashboard.is_mounted:
            return
        try:
            pane = self.dashboard.pane(pane_id)
        except NoMatches:  # the dashboard is being built or torn down
            return
        try:
            pane.show(snap)
        except Exception as exc:  # a renderer bug must not take the screen down
            with contextlib.suppress(NoMatches):
                self.dashboard.say(f"{snap.source}: cannot draw: {exc}", error=True)

    def _tick_status(self) -> None:
        if not self.dashboard.is_mounted:
            return
        for name, collector in self.runtime.hub.collectors.items():
            pane_id = PANE_OF_SOURCE.get(name)
            if pane_id:
                with contextlib.suppress(NoMatches):
                    self.dashboard.pane(pane_id).refresh_status(collector.snapshot)

    # -- keys -------------------------------------------------------------------------------------
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(dict(self.runtime.loaded.config.cockpit.keymap), self._row_action_help()))

    def _row_action_help(self) -> list[tuple[str, str, str]]:
        from screens.render import table_spec

        rows = []
        for _pane, _title, views in PANES:
            for source, section in views:
                spec = table_spec(source, section)
                where = f"{source} {section or 'rows'}"
                for key, action, label, _params in spec.actions:
                    rows.append((where, key, f"{label} ({action})"))
                for key, _screen, label in spec.screens:
                    rows.append((where, key, label))
            for source in dict.fromkeys(s for s, _ in views):
                for key, label, _screen in getattr(render_module(source), "PANE_SCREENS", ()):
                    rows.append((f"{source} pane", key, label))
        rows.append(("general", ":plan [PATH]", "Open a plan: its DAG and steps live; run and cancel it"))
        rows.append(("general", ":status", "Clusters: one line each (VMs, scheduler, storage, GPUs)"))
        rows.append(("general", ":provisioning", "Ansible runs: hosts x tasks live, the failing task's output"))
        return rows

    def action_command_line(self) -> None:
        self.open_command_line("")

    def open_command_line(self, value: str = "") -> None:
        if self.screen is not self.dashboard:
            return
        self.dashboard.open_prompt("command", value)

    def action_filter(self) -> None:
        if self.screen is not self.dashboard:
            return
        table = self.dashboard.focused_table() or self._last_table
        self._filter_target = table
        self.dashboard.open_prompt("filter", table.filter_text if table else "")

    _last_table: SourceTable | None = None
    _filter_target: SourceTable | None = None

    def on_descendant_focus(self, event: Any) -> None:
        if isinstance(event.widget, SourceTable):
            self._last_table = event.widget

    def action_back(self) -> None:
        if self.screen is not self.dashboard:
            self.pop_screen()
            return
        prompt = self.dashboard.query_one("#prompt", Input)
        if prompt.has_class("visible"):
            self.dashboard.close_prompt()
            if self._last_table:
                self._last_table.focus()
            return
        table = self.dashboard.focused_table()
        if table and table.filter_text:
            table.set_filter("")
        self.dashboard.say("")

    def action_refresh(self) -> None:
        table = self.dashboard.focused_table()
        sources = [table.source] if table else list(self.runtime.hub.collectors)
        for source in sources:
            self.runtime.hub.collectors[source].refresh()
        self.dashboard.say(f"refreshing {', '.join(sources)}")

    def action_sort(self) -> None:
        table = self.dashboard.focused_table()
        if table:
            table.sort_by_cursor_column()

    def _pane_ids(self) -> list[str]:
        return [pane_id for pane_id, _, _ in PANES]

    def action_focus_pane(self, pane_id: str) -> None:
        if self.screen is not self.dashboard:
            return
        tables = self.dashboard.pane(pane_id).tables()
        visible = [t for t in tables if t.display] or tables
        if visible:
            visible[0].focus()
        else:
            self.dashboard.pane(pane_id).focus()

    def _current_pane_index(self) -> int:
        table = self.dashboard.focused_table() or self._last_table
        if table is None:
            return -1
        return self._pane_ids().index(PANE_OF_SOURCE[table.source])

    def action_focus_next_pane(self) -> None:
        self._cycle_panes(+1)

    def action_focus_previous_pane(self) -> None:
        self._cycle_panes(-1)

    def _cycle_panes(self, step: int) -> None:
        """The next pane with a table to focus: an unconfigured pane (collapsed to its hint) is
        skipped, or tab would stop in front of it."""
        ids = self._pane_ids()
        start = self._current_pane_index()
        for offset in range(1, len(ids) + 1):
            pane_id = ids[(start + step * offset) % len(ids)]
            if any(t.display for t in self.dashboard.pane(pane_id).tables()):
                self.action_focus_pane(pane_id)
                return

    @staticmethod
    def _load_screen(spec: str) -> Any:
        import importlib

        module_name, _, cls_name = spec.partition(":")
        return getattr(importlib.import_module(module_name), cls_name)

    def action_detail(self) -> None:
        table = self.dashboard.focused_table()
        if table is None:
            return
        item = table.selected_item()
        if item is None:
            return
        spec = table.spec
        if spec is not None and spec.detail_screen:
            try:
                self.push_screen(self._load_screen(spec.detail_screen)(self.runtime, item))
                return
            except Exception as exc:  # a broken detail screen falls back to the plain view
                self.dashboard.say(f"{table.source}: detail screen failed: {exc}", error=True)
        module = render_module(table.source) if table.section is None else None
        title = f"{table.source}{'/' + table.section if table.section else ''}: {table.selected_key()}"
        self.push_screen(DetailScreen(title, detail_renderable(item, module)))

    def on_virtual_table_row_selected(self, event: Any) -> None:
        # The table consumes enter itself and reports the row: that is our "detail" key.
        if isinstance(event.table, SourceTable) and event.table is self.dashboard.focused_table():
            event.stop()
            self.action_detail()

    def action_row_actions(self) -> None:
        table = self.dashboard.focused_table()
        if table is None or table.selected_item() is None:
            return
        row_actions = table.spec.actions if table.spec is not None else ()
        if not row_actions:
            self.dashboard.say(f"no actions for {table.source} rows")
            return
        item = table.selected_item()
        by_name = {action: params for _key, action, _label, params in row_actions}
        choices = [(action, f"[{key}] {label}") for key, action, label, _ in row_actions]

        def chosen(name: str | None) -> None:
            if name:
                self.request_action(name, by_name[name](item))

        self.push_screen(ActionMenu(f"{table.source}: {table.selected_key()}", choices), chosen)

    def on_key(self, event: Any) -> None:
        """Row-action keys of the focused table, and the keys that open a pane's own screens."""
        table = self.dashboard.focused_table() if self.screen is self.dashboard else None
        if table is None:
            return
        for key, action, _label, params in (table.spec.actions if table.spec is not None else ()):
            if event.key == key:
                item = table.selected_item()
                if item is not None:
                    event.stop()
                    self.request_action(action, params(item))
                return
        for key, screen, _label in (table.spec.screens if table.spec is not None else ()):
            if event.key == key:
                item = table.selected_item()
                if item is not None:
                    event.stop()
                    try:
                        self.push_screen(self._load_screen(screen)(self.runtime, item))
                    except Exception as exc:
                        self.dashboard.say(f"cannot open {screen}: {exc}", error=True)
                return
        for key, _label, screen in getattr(render_module(table.source), "PANE_SCREENS", ()):
            if event.key == key:
                event.stop()
                try:
                    self.push_screen(self._load_screen(screen)(self.runtime))
                except Exception as exc:
                    self.dashboard.say(f"cannot open {screen}: {exc}", error=True)
                return

    def open_plan(self, path: str | None = None) -> None:
        try:
            from screens.plan_view import PlanScreen
        except ImportError as exc:
            self.dashboard.say(f"plans are not available: {exc}", error=True)
            return
        self.push_screen(PlanScreen(self.runtime, path))

    # -- prompt -----------------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "prompt":
            return
        mode = getattr(event.input, "mode", "command")
        text = event.value.strip()
        self.dashboard.close_prompt()
        if mode == "filter":
            table = self._filter_target or self._last_table
            if table is not None:
                error = table.set_filter(text)
                self.dashboard.say(f"filter: {error}" if error else (f"filter {table.source}: {text}" if text else ""),
                                   error=bool(error))
                table.focus()
            return
        self.run_command(text)

    def run_command(self, text: str) -> None:
        if not text:
            return
        try:
            words = shlex.split(text)
        except ValueError as exc:
            self.dashboard.say(f"command: {exc}", error=True)
            return
        head, args = words[0], words[1:]
        if head in ("q", "quit", "exit"):
            self.exit(0)
        elif head == "help":
            self.action_help()
        elif head == "refresh":
            for source in args or list(self.runtime.hub.collectors):
                if source in self.runtime.hub.collectors:
                    self.runtime.hub.collectors[source].refresh()
        elif head in ("provisioning", "ansible"):
            self.open_provisioning()
        elif head == "status":
            self.open_cluster_status()
        elif head == "plan":
            self.open_plan(args[0] if args else None)
        elif head == "pane" and args and args[0] in self._pane_ids():
            self.action_focus_pane(args[0])
        elif head == "filter":
            table = self._last_table
            if table is not None:
                error = table.set_filter(" ".join(args))
                if error:
                    self.dashboard.say(f"filter: {error}", error=True)
        elif head in self.runtime.registry:
            params: dict[str, Any] = TextParams()  # typed by the action's model, strictly
            for word in args:
                key, sep, value = word.partition("=")
                if not sep:
                    self.dashboard.say(f"{head}: expected key=value, got {word!r}", error=True)
                    return
                params[key] = value
            self.request_action(head, params)
        else:
            self.dashboard.say(f"unknown command {head!r}: try help, or ctrl+p", error=True)

    # -- actions ----------------------------------------------------------------------------------
    @work(exclusive=False, group="actions")
    async def request_action(self, name: str, params: dict[str, Any]) -> None:
        """Validate and apply the policy (once; a refusal is audited), show the confirmation text
        for change/destroy, then run."""
        try:
            authorized = await self.runtime.dispatcher.authorize(name, params, actor=self.actor)
        except ActionRefused as exc:
            self.dashboard.say(f"{name}: {exc}", error=True)
            self.notify(str(exc), title=name, severity="error")
            return
        except ActionError as exc:
            self.dashboard.say(str(exc), error=True)
            return
        prepared = authorized.prepared
        if prepared.action.danger is Danger.READ:
            self._invoke(name, params, authorized)
            return
        self._confirm(authorized, name, params)

    @work(exclusive=False, group="actions")
    async def _confirm(self, authorized: Authorized, name: str, params: dict[str, Any]) -> None:
        """Show the confirmation with what the action would hit now; the action runs only if
        the target still reads the same when it starts."""
        prepared = authorized.prepared
        text, target = prepared.confirmation, None
        if prepared.action.target is not None:
            self.dashboard.say(f"{name}: reading its target...")
            try:
                target = await self.runtime.dispatcher.read_target(prepared, self.actor)
            except ActionError as exc:
                self.dashboard.say(f"{name}: {exc}", error=True)
                return
            text = f"{text}\nTarget: {target}"

        def answered(ok: bool | None) -> None:
            if ok:
                self._invoke(name, params, authorized, expect_target=target)
            else:
                self.dashboard.say(f"{name}: cancelled")

        self.push_screen(ConfirmScreen(name, prepared.action.danger.value, text), answered)

    @work(exclusive=False, group="actions")
    async def _invoke(self, name: str, params: dict[str, Any], authorized: Authorized,
                      expect_target: str | None = None) -> None:
        self.dashboard.say(f"{name}: running...")
        try:
            result = await self.runtime.dispatcher.invoke(
                name, params, actor=self.actor, confirmed=True, authorized=authorized, expect_target=expect_target,
                progress=lambda message: self.dashboard.say(f"{name}: {message}"))
        except NeedsConfirmation as exc:
            self.dashboard.say(f"{name}: needs confirmation: {exc.text}", error=True)
            return
        except ActionError as exc:
            self.dashboard.say(f"{name}: {exc}", error=True)
            self.notify(str(exc), title=name, severity="error")
            return
        if result.ok:
            self.dashboard.say(f"{name}: done {result.outputs or ''}")
            self.notify(f"{name}: done", title="action")
        else:
            self.dashboard.say(f"{name} failed: {result.error}", error=True)
            self.notify(str(result.error), title=f"{name} failed", severity="error")

    async def action_run_command_text(self, text: str) -> None:
        self.run_command(text)


def run_app(loaded: Any, read_only: bool = False) -> int:
    from cockpit.runtime import build_runtime

    runtime = build_runtime(loaded, read_only=True if read_only else None)
    app = CockpitApp(runtime)

    def hangup(*_: Any) -> None:
        # The terminal went away: leave cleanly instead of dying mid-write.
        app.exit(0)

    try:
        signal.signal(signal.SIGHUP, hangup)
    except (ValueError, AttributeError):
        pass
    result = app.run()  # the app closes the runtime (collectors, connections) on unmount
    # The terminal is restored and every audit record is fsync'd: leave now rather than wait at
    # interpreter exit for worker threads still inside a slow or hung backend call.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(result or 0)
