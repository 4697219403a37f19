"""The Textual application: renders snapshots, dispatches actions by name. Never calls a backend."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Input

from cockpit import gc_pause
from cockpit.commands import COMMANDS as COMMAND_REGISTRY, command_words, effective_keys, unknown_keymap_entries
from cockpit.errors import ConfigError
from cockpit.idle_clock import IdleClock
from cockpit.params import TextParams
from cockpit.snapshot import Snapshot, Status, utcnow
from screens.dashboard import PANE_OF_SOURCE, PANES, SHORT_TITLES, Dashboard
from screens.messages import say
from screens.pane import SourceTable, render_module

if TYPE_CHECKING:
    from cockpit.actions import Actor
    from cockpit.runtime import Runtime
    from screens.gpu_use import GpuUse


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
    """ctrl+p: every command of the registry, every pane, every action (started through the
    interaction seam: a form asks for what the selected row does not give) and every shipped plan."""

    def _entries(self) -> list[tuple[str, str, Callable[[], Any], str]]:
        """(text matched, text shown, callback, help)."""
        app = self.app
        assert isinstance(app, CockpitApp)
        entries: list[tuple[str, str, Callable[[], Any], str]] = []
        for command in COMMAND_REGISTRY:
            if command.id == "palette" or command.id.startswith("pane_"):
                continue
            entries.append((f"{command.id} {command.description}", command.description,
                            partial(app.run_action, command.action), f"key: {command.key}"))
        for number, (pane_id, title, _views) in enumerate(PANES, start=1):
            entries.append((f"pane {pane_id} {title}", f"pane: {title}", partial(app.action_focus_pane, pane_id),
                            f"key: {number}"))
        entries.append(("provisioning ansible runs hosts tasks", "provisioning: Ansible runs, hosts x tasks live",
                        app.open_provisioning, ":provisioning"))
        entries.append(("status clusters hpc cloud health", "status: one line per cluster (VMs, scheduler, storage, GPUs)",
                        app.open_cluster_status, ":status"))
        entries.append(("record recording replay", "record: the screen's snapshots into a recording (again: stop)",
                        app.toggle_recording, ":record [FILE], :record stop"))
        entries.append(("plan open run DAG", "plan: open, run and watch a plan", app.open_plan, ":plan [PATH]"))
        for path in app.plan_files():
            entries.append((f"plan {path.stem} {path.name}", f"plan: {path.name}", partial(app.open_plan, str(path)),
                            str(path)))
        for action in app.runtime.registry:
            entries.append((f"{action.name} {action.title} action", f"{action.name}: {action.title}",
                            partial(app.start_action, action.name, {}), f"action, danger: {action.danger.value}"))
        return entries

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for matched, shown, callback, help_text in self._entries():
            score = matcher.match(matched)
            if score > 0:
                yield Hit(score, matcher.highlight(shown), callback, help=help_text)

    async def discover(self) -> Hits:
        for _matched, shown, callback, help_text in self._entries():
            yield DiscoveryHit(shown, callback, help=help_text)


PROMPT_COMMANDS = ("command", "filter")
# How often the GPU table's idle flags are looked at again while some GPU is idle (seconds). Short
# on purpose: a pending timer keeps its task's context, and so an ended session's App, alive
# until it is due (tests/cockpit/test_sshserve.py counts ended Apps).
IDLE_RECHECK_S = 5.0


def _unconfigured(runtime: "Runtime") -> frozenset[str]:
    """The sources with nothing to talk to: their panes collapse to a hint line."""
    return frozenset(name for name, c in runtime.hub.collectors.items() if not c.configured)


class CockpitApp(App[int]):
    TITLE = "AI-HOW Cockpit"
    CSS_PATH = Path(__file__).with_name("cockpit.tcss")  # absolute: subclasses live elsewhere
    COMMANDS = App.COMMANDS | {CockpitCommands}
    BINDINGS = [
        # `:` and `/` are priority bindings: they open their prompt before the keys typed right
        # after them are handed to the table (a burst, a paste, one SSH packet), so those keys
        # land in the prompt instead of acting on rows. check_action turns them off wherever
        # text is being typed, so an input still takes `:` and `/` as text. The others are not
        # priority: the prompts take q and ? as text.
        Binding(c.key, c.action, c.label, show=c.show, id=c.id, tooltip=c.description,
                priority=c.id in PROMPT_COMMANDS)
        for c in COMMAND_REGISTRY if c.id != "palette"
    ]

    def __init__(self, runtime: "Runtime | None" = None, *, actor: Actor | None = None, low_bandwidth: bool = False,
                 owns_hub: bool = True, driver_class: Any = None, record_to: str | Path | None = None,
                 make_runtime: "Callable[[], Runtime] | None" = None) -> None:
        """`runtime`, or `make_runtime` to build it once the first frame is on screen: `cockpit`
        draws its dashboard before it imports pydantic, validates the config and builds the
        sources (about half of its start-up), so the user sees the screen at once; a config error
        then ends the app with exit code 2 and the error (run_app prints it)."""
        super().__init__(driver_class=driver_class)
        if runtime is None and make_runtime is None:
            raise TypeError("CockpitApp needs a runtime or make_runtime")
        if low_bandwidth:
            self.animation_level = "none"
        self._runtime = runtime
        self._make_runtime = make_runtime
        self.startup_error: Exception | None = None  # what ended the app before its runtime was up
        if actor is None:
            from cockpit.actions import local_actor  # the action layer: not needed for the first frame

            actor = local_actor("tui")
        self.actor = actor
        self.low_bandwidth = low_bandwidth
        self.owns_hub = owns_hub
        self._connected = False
        self._unsubscribe: Callable[[], None] | None = None
        self._unwatch: list[Callable[[], None]] = []
        self.dashboard = Dashboard(_unconfigured(runtime) if runtime is not None else None)
        self._base_sub_title = ""
        # `:record FILE` / `--record FILE`: the screen's snapshots into a recording (see cockpit.screen_recording)
        self.recorder: Any = None
        self._record_to = record_to
        # Since when each allocated GPU has been idle: the GPU table flags it after idle_for_min.
        self.idle_clock = IdleClock()
        # The GPU table's idle flag, built from the GPU map once the runtime is up (_connect).
        self._gpu_use: GpuUse | None = None

    @property
    def runtime(self) -> "Runtime":
        """The runtime; built now if the screen asks for it before its start-up built it."""
        if self._runtime is None:
            assert self._make_runtime is not None
            self._runtime = self._make_runtime()
        return self._runtime

    def view_now(self) -> datetime:
        """The moment the screen shows: now (replay shows a recorded moment instead); the status
        lines' "updated 10s ago" count from it."""
        return utcnow()

    # -- lifecycle ------------------------------------------------------------------------------
    def get_default_screen(self) -> Dashboard:
        """The dashboard is the bottom screen itself: no empty default screen under it to be
        composed, laid out and drawn (then covered) before the first frame."""
        return self.dashboard

    def on_mount(self) -> None:
        if self.owns_hub:
            # Quitting must not wait for a backend call that hangs in a worker thread.
            asyncio.get_running_loop().set_default_executor(NoWaitExecutor(thread_name_prefix="cockpit-io"))
        # Ages are shown in 5 s buckets: a 2.5 s tick keeps them right without busy redraws.
        self.set_interval(5.0 if self.low_bandwidth else 2.5, self._tick_status)
        if self._runtime is not None:
            self._connect()
        else:
            # The dashboard's first frame first; then the config, the sources and the rest.
            self.call_after_refresh(self._build_and_connect)

    def _build_and_connect(self) -> None:
        try:
            self._runtime = self.runtime  # built here (the property), on the loop, right after the first frame
        except Exception as exc:  # a bad config (ConfigError) or a source that cannot be set up
            self.startup_error = exc
            gc_pause.resume()
            self.exit(return_code=2 if isinstance(exc, ConfigError) else 1)
            return
        self._connect()

    def _connect(self) -> None:
        """Attach the screen to the runtime: config settings, the sources' panes, subscriptions."""
        if self._connected:
            return
        self._connected = True
        runtime = self.runtime
        for warning in runtime.loaded.warnings:
            self.notify(warning, title="config", severity="warning", timeout=15)
        read_only = runtime.read_only or self.actor.role == "viewer"
        self._base_sub_title = f"{runtime.loaded.config.metadata.name}{'  [read-only]' if read_only else ''}"
        self.sub_title = self._base_sub_title
        if self.dashboard.unconfigured is None:
            self.dashboard.set_unconfigured(_unconfigured(runtime))
        cfg = runtime.loaded.config.cockpit
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
        if runtime.audit_problem:
            self.notify(f"{runtime.audit_problem}: actions are refused until it can be written; "
                        "monitoring goes on", title="audit log", severity="error", timeout=30)
        hub = runtime.hub
        from screens.gpu_use import GpuUse  # the GPU map and its modules: not needed for the first frame

        self._gpu_use = GpuUse(hub.snapshots, lambda: runtime.config, self._show, self._say_gpu_map,
                               clock=self.idle_clock, now=lambda: self.view_now().timestamp())
        # Ansible runs are not on the first frame: attach their source once the screen is up.
        self.set_timer(1.0, self._attach_provisioning)
        # The collector, paused by the command line for start-up, comes back once the screen is
        # up (cockpit/gc_pause.py); its one collection then does not delay the first frame.
        self.set_timer(1.0, gc_pause.resume)
        # An idle GPU's readings may not change for minutes: look again, so its flag comes on time.
        self.set_interval(IDLE_RECHECK_S, self._recheck_idle)
        self._unsubscribe = hub.subscribe_all(lambda snap: self.post_message(SnapshotArrived(snap)))
        self._unwatch = [c.watch() for c in hub.collectors.values()]
        if self.owns_hub and not hub.started:
            # After the first frame: the collectors' first fetches (imports of libvirt and the
            # other clients, decoding in worker threads) would otherwise hold the GIL while the
            # empty dashboard is being drawn, and delay it.
            self.call_after_refresh(self._start_hub)
        self.call_after_refresh(self._show_all)
        # Fewer, cheaper garbage collections while the screen runs (cockpit/gc_pause.py).
        gc_pause.tune_for_latency()
        if self._record_to is not None:
            self.run_worker(self.start_recording(self._record_to), name="record", group="record")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self._connected and action != "quit":
            return False  # the first frame is up, the config and sources not yet (a moment)
        if action in ("command_line", "filter"):
            # Only on the dashboard, and never while an input has focus (it takes : and / as text).
            return self.screen is self.dashboard and not isinstance(self.focused, Input)
        return True

    def _start_hub(self) -> None:
        if not self.runtime.hub.started:
            self.runtime.hub.start()

    def _attach_provisioning(self) -> None:
        """Ansible runs are a source of their own (not one of the six panes): shown on demand."""
        try:
            self.runtime.provisioning()
        except ImportError:
            return
        except Exception as exc:
            self.say(f"provisioning runs unavailable: {exc}", "warning")

    def open_cluster_status(self) -> None:
        from screens.cluster_status import ClusterStatusScreen

        self.push_screen(ClusterStatusScreen(self.runtime))

    def open_provisioning(self) -> None:
        try:
            from screens.provisioning_run import ProvisioningRunScreen
        except ImportError as exc:
            self.say(f"provisioning view unavailable: {exc}", "error")
            return
        self.push_screen(ProvisioningRunScreen(self.runtime))

    def _show_all(self) -> None:
        for snap in self.runtime.hub.snapshots().values():
            if snap.source != "gpus":  # drawn below, with the GPU map's idle flag
                self._show(snap)
        self._show_gpu_use()
        # Start on the first pane with a table; with every source unconfigured, on the first pane
        # (it takes focus itself), so tab, 1-5 and the pane's keys still work.
        for pane_id in self._pane_ids():
            if self.dashboard.pane(pane_id).tables():
                self.action_focus_pane(pane_id)
                return
        self.action_focus_pane(self._pane_ids()[0])

    async def on_unmount(self) -> None:
        if self._runtime is None:
            return  # it ended before it was built (a config error): nothing to close
        if self._unsubscribe:
            self._unsubscribe()
        if self.recorder is not None and self.recorder.active:
            await self.recorder.stop()  # what is queued is written before the hub closes
        for unwatch in self._unwatch:
            unwatch()
        if self._gpu_use is not None:
            self._gpu_use.close()
        if self.owns_hub:
            await self.runtime.close()

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        snap = message.snapshot
        if snap.source != "gpus":
            self._show(snap)
        if self._gpu_use is not None and self._gpu_use.reads(snap.source):
            self._show_gpu_use(snap if snap.source == "gpus" else None)

    def _show_gpu_use(self, arrived: Snapshot | None = None, at_once: bool = False) -> None:
        """Draw the GPU table with the allocated-but-idle flag of the GPU map (which GPUs a job or
        pod holds comes from the other sources' snapshots), built in a worker thread
        (screens/gpu_use.py); `arrived`: a gpus snapshot just in; `at_once`: without waiting out
        the minimum gap between builds."""
        if self._gpu_use is not None and self._gpu_use.arrived(arrived, at_once=at_once):
            self.run_worker(self._gpu_use.run(), group="gpu-use", exclusive=False)

    def _say_gpu_map(self, text: str) -> None:
        with contextlib.suppress(NoMatches):
            self.say(text, "error")

    def _recheck_idle(self) -> None:
        if self.idle_clock.durations(self.view_now().timestamp()):
            self._show_gpu_use(at_once=True)

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
                self.say(f"{snap.source}: cannot draw: {exc}", "error")

    def _tick_status(self) -> None:
        if not self.dashboard.is_mounted or not self._connected:
            return
        self._check_recording()
        for name, collector in self.runtime.hub.collectors.items():
            pane_id = PANE_OF_SOURCE.get(name)
            if pane_id:
                with contextlib.suppress(NoMatches):
                    self.dashboard.pane(pane_id).refresh_status(collector.snapshot)

    # -- keys -------------------------------------------------------------------------------------
    def action_help(self) -> None:
        from screens.modals import HelpScreen  # not on the first frame (it pulls in rich.syntax and pygments)

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
        rows.append(("general", ":record [FILE]", "Record the screen's snapshots (● REC in the title); :record stop ends it"))
        return rows

    def say(self, text: str, kind: str = "info") -> None:
        say(self, text, kind)

    def action_command_line(self) -> None:
        self.open_command_line("")

    def open_command_line(self, value: str = "") -> None:
        if self.screen is not self.dashboard:
            return
        self.dashboard.open_prompt("command", value)

    def action_filter(self) -> None:
        if self.screen is not self.dashboard:
            return
        table = self.dashboard.focused_table() or self._table_of_current_pane()
        if table is None:
            self.say(self._unconfigured_text(self.dashboard.current, "nothing to filter"), "warning")
            return
        self._filter_target = table
        self.dashboard.open_prompt("filter", table.filter_text)

    _last_table: SourceTable | None = None
    _filter_target: SourceTable | None = None

    def on_descendant_focus(self, event: Any) -> None:
        if isinstance(event.widget, SourceTable):
            self._last_table = event.widget

    def _table_of_current_pane(self) -> SourceTable | None:
        tables = [t for t in self.dashboard.current_pane().tables() if t.display]
        return tables[0] if tables else None

    def _unconfigured_text(self, pane_id: str, what: str) -> str:
        """'storage is not configured (set ...): <what>' for the pane's unconfigured sources."""
        hints = []
        for source in self.dashboard.current_pane().sources if pane_id == self.dashboard.current else ():
            snap = self.runtime.hub.collectors[source].snapshot if source in self.runtime.hub.collectors else None
            if snap is not None and snap.status is Status.UNCONFIGURED:
                hints.append(f"{source} is not configured ({snap.hint or 'see README'})")
        return f"{SHORT_TITLES.get(pane_id, pane_id)}: {what}" + (f"; {'; '.join(hints)}" if hints else "")

    def action_back(self) -> None:
        if self.screen is not self.dashboard:
            self.pop_screen()
            return
        prompt = self.dashboard.query_one("#prompt", Input)
        if prompt.has_class("visible"):
            self.dashboard.close_prompt()
            self._focus_back()
            return
        table = self.dashboard.focused_table()
        if table and table.filter_text:
            table.set_filter("")
            self.say(f"filter of {table.source} cleared")
            return
        if self.dashboard.zoomed:
            self.action_zoom()
            return
        self.say("")

    def action_refresh(self) -> None:
        if self.screen is not self.dashboard:
            return
        pane = self.dashboard.current_pane()
        sources = [s for s in pane.sources if self.runtime.hub.collectors[s].configured]
        if not sources:
            self.say(self._unconfigured_text(pane.pane_id, "nothing to refresh"), "warning")
            return
        for source in sources:
            self.runtime.hub.collectors[source].refresh()
        self.say(f"refreshing {', '.join(sources)}")

    def action_sort(self) -> None:
        table = self.dashboard.focused_table()
        if table is None:
            self.say("sort: focus a table first (tab, 1-5)", "warning")
            return
        table.sort_by_cursor_column()

    def action_zoom(self) -> None:
        if self.screen is not self.dashboard:
            return
        zoomed = self.dashboard.toggle_zoom()
        name = SHORT_TITLES.get(self.dashboard.current, self.dashboard.current)
        self.say(f"{name} zoomed: z or esc for all panes" if zoomed else "all panes")
        self._refocus_current()

    def _refocus_current(self) -> None:
        pane = self.dashboard.current_pane()
        tables = [t for t in pane.tables() if t.display]
        target = tables[0] if tables else (pane if pane.can_focus else None)
        if target is not None and not any(t.has_focus for t in tables):
            target.focus()

    def _pane_ids(self) -> list[str]:
        return [pane_id for pane_id, _, _ in PANES]

    def action_focus_pane(self, pane_id: str) -> None:
        if self.screen is not self.dashboard:
            return
        self.dashboard.show_pane(pane_id)
        pane = self.dashboard.pane(pane_id)
        tables = pane.tables()
        visible = [t for t in tables if t.display] or tables
        target = visible[0] if visible else pane
        if target.region.area:  # already on screen: focus now, so the next key lands there
            target.focus()
        else:  # a pane just shown is laid out on the next refresh: focus it then
            self.call_after_refresh(target.focus)

    def jump_to(self, source: str, section: str | None, key: str) -> bool:
        """Focus the pane holding `source` (its `section` table, if any) with the cursor on the row
        of `key` (the GPU map's jump key); says why when the row is not shown."""
        pane_id = PANE_OF_SOURCE.get(source)
        if pane_id is None or self.screen is not self.dashboard:
            return False
        try:
            table = self.dashboard.pane(pane_id).table(source, section)
        except NoMatches:
            self.say(f"{source}: no table for {section or 'its rows'} on screen", "warning")
            return False
        self.dashboard.show_pane(pane_id)
        found = table.select_key(key)
        if not found:
            self.say(f"{source} {key}: not shown (gone, or hidden by the filter)", "warning")
        if table.region.area:
            table.focus()
        else:  # a pane just shown is laid out on the next refresh: focus it then
            self.call_after_refresh(table.focus)
        return found

    def _current_pane_index(self) -> int:
        ids = self._pane_ids()
        return ids.index(self.dashboard.current) if self.dashboard.current in ids else -1

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
        # Nothing configured anywhere: tab still moves, pane by pane (each says what it needs).
        self.action_focus_pane(ids[(start + step) % len(ids)])

    @staticmethod
    def _load_screen(spec: str) -> Any:
        import importlib

        module_name, _, cls_name = spec.partition(":")
        return getattr(importlib.import_module(module_name), cls_name)

    def action_detail(self) -> None:
        from screens.modals import DetailScreen, detail_renderable  # modals are not on the first frame

        table = self.dashboard.focused_table()
        if table is None:
            return
        item = table.selected_item()
        if item is None:
            self.say(f"{table.source}: no row selected", "warning")
            return
        spec = table.spec
        if spec is not None and spec.detail_screen:
            try:
                self.push_screen(self._load_screen(spec.detail_screen)(self.runtime, item))
                return
            except Exception as exc:  # a broken detail screen falls back to the plain view
                self.say(f"{table.source}: detail screen failed: {exc}", "error")
        module = render_module(table.source) if table.section is None else None
        title = f"{table.source}{'/' + table.section if table.section else ''}: {table.selected_key()}"
        self.push_screen(DetailScreen(title, detail_renderable(item, module)))

    def on_virtual_table_row_selected(self, event: Any) -> None:
        # The table consumes enter itself and reports the row: that is our "detail" key.
        if isinstance(event.table, SourceTable) and event.table is self.dashboard.focused_table():
            event.stop()
            self.action_detail()

    def action_row_actions(self) -> None:
        from screens.modals import ActionMenu  # modals are not on the first frame

        table = self.dashboard.focused_table()
        if table is None:
            self.say(self._unconfigured_text(self.dashboard.current, "no rows to act on"), "warning")
            return
        if table.selected_item() is None:
            self.say(f"{table.source}: no row selected", "warning")
            return
        row_actions = table.spec.actions if table.spec is not None else ()
        if not row_actions:
            self.say(f"no actions for {table.source} rows; ctrl+p lists every action")
            return
        choices = [(action, f"[{key}] {label}") for key, action, label, _ in row_actions]

        def chosen(name: str | None) -> None:
            if name:
                self.action_row_action(name)

        self.push_screen(ActionMenu(f"{table.source}: {table.selected_key()}", choices), chosen)

    def _row_params(self, table: SourceTable | None, name: str) -> tuple[dict[str, Any], Any]:
        """The parameters the selected row gives an action (its row-action recipe if it has one),
        and the row itself (to prefill a form)."""
        if table is None:
            return {}, None
        item = table.selected_item()
        if item is None:
            return {}, None
        for _key, action, _label, params in (table.spec.actions if table.spec is not None else ()):
            if action == name:
                try:
                    return dict(params(item)), item
                except Exception:  # a recipe that cannot read this row: ask in the form
                    return {}, item
        return {}, item

    def action_row_action(self, name: str) -> None:
        """A row key: the action with the selected row's parameters."""
        table = self.dashboard.focused_table()
        params, item = self._row_params(table, name)
        if item is None:
            self.say(f"{name}: select a row first", "warning")
            return
        self.request_action(name, params, item=item)

    def action_row_screen(self, screen: str) -> None:
        table = self.dashboard.focused_table()
        item = table.selected_item() if table is not None else None
        if item is None:
            self.say("select a row first", "warning")
            return
        try:
            self.push_screen(self._load_screen(screen)(self.runtime, item))
        except Exception as exc:
            self.say(f"cannot open {screen}: {exc}", "error")

    def action_pane_screen(self, screen: str) -> None:
        try:
            self.push_screen(self._load_screen(screen)(self.runtime))
        except Exception as exc:
            self.say(f"cannot open {screen}: {exc}", "error")

    def on_key(self, event: Any) -> None:
        """Keys of a pane's own screens (e.g. `w`, the Kubernetes wizard) on a pane whose source
        is unconfigured: say why nothing opens instead of doing nothing."""
        if self.screen is not self.dashboard or self.dashboard.focused_table() is not None:
            return
        if isinstance(self.dashboard.focused, Input):
            return
        pane = self.dashboard.current_pane()
        for source in pane.sources:
            for key, label, _screen in getattr(render_module(source), "PANE_SCREENS", ()):
                if event.key == key:
                    event.stop()
                    self.say(self._unconfigured_text(pane.pane_id, f"{label.lower()} needs its source"), "warning")
                    return

    def plan_files(self) -> list[Path]:
        try:
            from screens.plan_view import plan_files
        except ImportError:
            return []
        return plan_files()

    def open_plan(self, path: str | None = None) -> None:
        try:
            from screens.plan_view import PlanScreen
        except ImportError as exc:
            self.say(f"plans are not available: {exc}", "error")
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
                self._apply_filter(table, text)
                table.focus()
            return
        self._focus_back()
        self.run_command(text)

    def _focus_back(self) -> None:
        """After the prompt: back to the table it was opened from (or the current pane)."""
        table = self._last_table
        if table is not None and table.display and PANE_OF_SOURCE.get(table.source) == self.dashboard.current:
            table.focus()
        else:
            self._refocus_current()

    def _apply_filter(self, table: SourceTable, text: str) -> None:
        error = table.set_filter(text)
        if error:
            self.say(f"filter {text!r} on {table.source}: {error}; the previous filter stays", "error")
        elif text:
            self.say(f"filter {table.source}: {text}   (esc clears)")
        else:
            self.say(f"filter of {table.source} cleared")

    def run_command(self, text: str) -> None:
        if not text:
            return
        try:
            words = shlex.split(text)
        except ValueError as exc:
            self.say(f"command {text!r}: {exc}", "error")
            return
        head, args = words[0], words[1:]
        collectors = self.runtime.hub.collectors
        if head in ("q", "quit", "exit"):
            self.exit(0)
        elif head == "help":
            self.action_help()
        elif head == "zoom":
            self.action_zoom()
        elif head == "refresh":
            unknown = [a for a in args if a not in collectors]
            if unknown:
                self.say(f"refresh: unknown source {unknown[0]!r}; sources: {', '.join(collectors)}", "error")
                return
            targets = [s for s in (args or list(collectors)) if collectors[s].configured]
            for source in targets:
                collectors[source].refresh()
            self.say(f"refreshing {', '.join(targets)}" if targets else "refresh: no configured source", "info")
        elif head == "record":
            self.record_command(args)
        elif head in ("provisioning", "ansible"):
            self.open_provisioning()
        elif head == "status":
            self.open_cluster_status()
        elif head == "plan":
            self.open_plan(args[0] if args else None)
        elif head == "pane":
            if not args or args[0] not in self._pane_ids():
                self.say(f"pane: expected one of {', '.join(self._pane_ids())}", "error")
                return
            self.action_focus_pane(args[0])
        elif head == "filter":
            table = self._last_table
            if table is None:
                self.say("filter: no table to filter; focus one with tab or 1-5", "error")
                return
            self._apply_filter(table, " ".join(args))
        elif head in self.runtime.registry:
            params: dict[str, Any] = TextParams()  # typed by the action's model, strictly
            for word in args:
                key, sep, value = word.partition("=")
                if not sep:
                    self.say(f"{head}: expected key=value, got {word!r} (e.g. :{head} name=VALUE)", "error")
                    return
                params[key] = value
            table = self._last_table
            row_params, item = self._row_params(table, head)
            self.request_action(head, params, item=item, prefill=row_params)
        else:
            known = command_words() + [a.name for a in self.runtime.registry]
            from screens import interaction

            hint = interaction.suggest(head, known)
            self.say(f"unknown command {head!r}: {hint}try help, or ctrl+p for every command and action", "error")

    # -- recording the screen -----------------------------------------------------------------------
    def record_command(self, args: list[str]) -> None:
        """`:record [FILE]` starts recording (default: the data dir's recordings/), `:record stop` ends it."""
        recording = self.recorder is not None and self.recorder.active
        if args == ["stop"]:
            if not recording:
                self.say("record: not recording; :record [FILE] starts", "warning")
                return
            self.run_worker(self.stop_recording(), name="record", group="record")
        elif len(args) > 1:
            self.say("record: expected :record [FILE] or :record stop", "error")
        elif recording:
            self.say(f"record: already recording to {self.recorder.path}; :record stop ends it", "warning")
        else:
            from cockpit.cli_record import default_out

            self.run_worker(self.start_recording(args[0] if args else default_out()), name="record", group="record")

    def toggle_recording(self) -> None:
        self.record_command(["stop"] if self.recorder is not None and self.recorder.active else [])

    async def start_recording(self, path: str | Path) -> None:
        from cockpit.screen_recording import ScreenRecorder, ScreenRecorderError

        if self.actor.via == "ssh":
            # the file would be written on the cockpit's host, by a remote viewer
            self.say("record: not over SSH; run `cockpit record` on the cockpit's host", "error")
            return
        if self.recorder is None:
            self.recorder = ScreenRecorder(self.runtime.hub)
        try:
            target = await self.recorder.start(path)
        except ScreenRecorderError as exc:
            self.say(f"record: {exc}", "error")
            return
        self._show_recording()
        self.say(f"recording to {target}; :record stop ends it, cockpit replay {target} plays it back")

    async def stop_recording(self) -> None:
        if self.recorder is None:
            return
        frames = self.recorder.frames
        path = await self.recorder.stop()
        self._show_recording()
        if path is not None:
            self.say(f"recording stopped: {frames} frames in {path}; cockpit replay {path} plays it back")

    _said_record_error: str | None = None

    def _check_recording(self) -> None:
        """A recording that cannot write (a full disk) says so once per new error; it goes on trying."""
        error = self.recorder.error if self.recorder is not None and self.recorder.active else None
        if error and error != self._said_record_error:
            self.say(f"record: writing {self.recorder.path} failed ({error}); free space or :record stop", "error")
        self._said_record_error = error

    def _show_recording(self) -> None:
        recording = self.recorder is not None and self.recorder.active
        self.sub_title = self._base_sub_title + (f"  ● REC {self.recorder.path.name}" if recording else "")

    # -- actions ----------------------------------------------------------------------------------
    def start_action(self, name: str, params: dict[str, Any]) -> None:
        """From the palette: the selected row's parameters if it gives any, else a form."""
        table = self.dashboard.focused_table() or self._last_table
        row_params, item = self._row_params(table, name)
        self.request_action(name, {**row_params, **params}, item=item)

    def request_action(self, name: str, params: dict[str, Any], *, item: Any = None,
                       prefill: dict[str, Any] | None = None) -> None:
        """Through the one interaction seam: form if parameters are missing, confirmation for
        change/destroy, audited invoke, outcome in the message area."""
        from screens import interaction

        interaction.start(self, name, params, item=item, prefill=prefill)

    async def action_run_command_text(self, text: str) -> None:
        self.run_command(text)


def run_app(make_runtime: "Callable[[], Runtime]", record_to: str | Path | None = None) -> int:
    """The screen, its runtime built by `make_runtime` once the first frame is drawn. Returns
    the exit code: 2 with the error printed when the config is invalid."""
    app = CockpitApp(make_runtime=make_runtime, record_to=record_to)

    def hangup(*_: Any) -> None:
        # The terminal went away: leave cleanly instead of dying mid-write.
        app.exit(0)

    try:
        signal.signal(signal.SIGHUP, hangup)
    except (ValueError, AttributeError):
        pass
    result = app.run()  # the app closes the runtime (collectors, connections) on unmount
    error = app.startup_error
    if error is not None:
        print(error.render() if isinstance(error, ConfigError) else f"cockpit: {error}", file=sys.stderr)
        result = app.return_code or 1
    else:
        result = result or app.return_code or 0
    # The terminal is restored and every audit record is fsync'd: leave now rather than wait at
    # interpreter exit for worker threads still inside a slow or hung backend call.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(result)
