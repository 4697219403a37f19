"""Distributed training without YAML: a creation wizard for MPIJob / PyTorchJob / Job.

Fields: kind, name and namespace, image and command, workers with CPU, memory and GPUs each,
volumes and env. `Review` renders the manifest (kube.quota.check, a read action) and shows it with
the quota verdict (used / available / requested) and the Kueue queue; `Submit` then runs
kube.job.create: the review is the confirmation, and it shows the action's confirmation text.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from cockpit.actions import ActionError
from screens.actor import actor_of

if TYPE_CHECKING:
    from cockpit.runtime import Runtime

FIELDS = [  # (id, label, default, placeholder)
    ("name", "Name", "", "mnist-horovod"),
    ("namespace", "Namespace", "default", ""),
    ("image", "Image", "", "horovod/horovod:0.28.1"),
    ("command", "Command", "", "python /workspace/train.py --epochs 5"),
    ("workers", "Workers", "2", ""),
    ("cpu", "CPU per worker", "2", ""),
    ("memory", "Memory per worker", "8Gi", ""),
    ("gpus", "GPUs per worker", "1", ""),
    ("volumes", "Volumes", "", "data:pvc=datasets:/data, scratch:host=/mnt/beegfs:/scratch"),
    ("env", "Env", "", "NCCL_DEBUG=INFO, EPOCHS=5"),
    ("queue", "Kueue queue", "", "empty: the namespace's LocalQueue if any"),
]


class FormError(ValueError):
    pass


def parse_volumes(text: str) -> list[dict[str, Any]]:
    """'data:pvc=datasets:/data, scratch:host=/mnt/beegfs:/scratch' -> Volume dicts."""
    out = []
    for raw in filter(None, (v.strip() for v in text.split(","))):
        parts = raw.split(":")
        if len(parts) != 3 or "=" not in parts[1]:
            raise FormError(f"volume {raw!r}: write NAME:pvc=CLAIM:/mount or NAME:host=/dir:/mount")
        name, (kind, _, value), mount = parts[0], parts[1].partition("="), parts[2]
        if kind not in ("pvc", "host"):
            raise FormError(f"volume {raw!r}: source must be pvc= or host=")
        out.append({"name": name, "mount_path": mount, ("claim" if kind == "pvc" else "host_path"): value})
    return out


def parse_env(text: str) -> dict[str, str]:
    env = {}
    for raw in filter(None, (e.strip() for e in text.split(","))):
        key, sep, value = raw.partition("=")
        if not sep:
            raise FormError(f"env {raw!r}: write NAME=value")
        env[key.strip()] = value.strip()
    return env


def wizard_params(kind: str, values: dict[str, str]) -> dict[str, Any]:
    """Form text -> kube.job.create parameters (the action's model validates the rest)."""
    def number(field: str) -> int:
        try:
            return int(values.get(field, "").strip())
        except ValueError:
            raise FormError(f"{field}: a whole number, got {values.get(field)!r}") from None

    try:
        command = shlex.split(values.get("command", ""))
    except ValueError as exc:
        raise FormError(f"command: {exc}") from None
    params: dict[str, Any] = {
        "kind": kind, "name": values.get("name", "").strip(), "namespace": values.get("namespace", "").strip(),
        "image": values.get("image", "").strip(), "command": command, "workers": number("workers"),
        "cpu": values.get("cpu", "").strip(), "memory": values.get("memory", "").strip(), "gpus": number("gpus"),
        "volumes": parse_volumes(values.get("volumes", "")), "env": parse_env(values.get("env", "")),
    }
    if values.get("queue", "").strip():
        params["queue"] = values["queue"].strip()
    return params


class TrainingWizard(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    TrainingWizard #wizard-form { width: 60; }
    TrainingWizard #wizard-review { padding: 0 1; }
    TrainingWizard Input { margin-bottom: 0; }
    """

    def __init__(self, runtime: "Runtime", kind: str = "MPIJob") -> None:
        super().__init__()
        self.runtime = runtime
        self.kind = kind
        self.reviewed: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with VerticalScroll(id="wizard-form"):
                yield Label("Kind")
                yield Select([(k, k) for k in ("MPIJob", "PyTorchJob", "Job")], value=self.kind,
                             allow_blank=False, id="kind")
                for fid, label, default, placeholder in FIELDS:
                    yield Label(label)
                    yield Input(value=default, placeholder=placeholder, id=fid)
                with Horizontal():
                    yield Button("Review", id="review", variant="primary")
                    yield Button("Submit", id="submit", variant="success", disabled=True)
            with VerticalScroll():
                yield Static(Text("Fill in the job, then Review: the manifest shows here before anything is "
                                  "submitted.", style="dim"), id="wizard-review")
        yield Footer()

    def values(self) -> dict[str, str]:
        return {fid: self.query_one(f"#{fid}", Input).value for fid, *_ in FIELDS}

    def on_input_changed(self) -> None:
        self.reviewed = None  # a changed form needs a new review
        self.query_one("#submit", Button).disabled = True

    def on_select_changed(self, event: Select.Changed) -> None:
        self.kind = str(event.value)
        self.on_input_changed()

    def show(self, renderable: Any) -> None:
        self.query_one("#wizard-review", Static).update(renderable)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "review":
            self.review()
        elif event.button.id == "submit" and self.reviewed is not None:
            self.submit(self.reviewed)

    @work(exclusive=True, group="kube-wizard")
    async def review(self) -> None:
        try:
            params = wizard_params(self.kind, self.values())
            prepared = self.runtime.dispatcher.prepare("kube.job.create", params)
        except (FormError, ActionError) as exc:
            self.show(Text(str(exc), style="red"))
            return
        result = await self.runtime.dispatcher.invoke("kube.quota.check", {k: v for k, v in params.items()},
                                                      actor=actor_of(self))
        if not result.ok:
            self.show(Text(f"review failed: {result.error}", style="red"))
            return
        r = result.result
        verdict = Text(r["summary"], style="green" if r["fits"] else "bold red")
        queue = Text(f"Kueue queue: {r['queue']}" if r["queue"] else "no Kueue LocalQueue in this namespace",
                     style="dim")
        from rich.console import Group

        self.show(Group(Text(prepared.confirmation, style="bold"), verdict, queue,
                        Syntax(r["manifest"], "yaml", theme="ansi_dark", word_wrap=True)))
        self.reviewed = params
        self.query_one("#submit", Button).disabled = not r["fits"]

    @work(exclusive=True, group="kube-wizard")
    async def submit(self, params: dict[str, Any]) -> None:
        from screens.interaction import perform

        # The review above is this screen's confirmation (the exact text and the quota verdict).
        result = await perform(self, "kube.job.create", params, confirmed_on_screen=True,
                               echo=lambda text, kind: self.show(Text(text, style="red")) if kind == "error" else None)
        if result is None:
            pass
        elif result.ok:
            self.show(Text(f"created {result.result['created']}", style="green"))
            self.notify(f"created {result.result['created']}")
        else:
            self.show(Text(f"submit failed: {result.error}", style="red"))
        self.query_one("#submit", Button).disabled = True
        self.reviewed = None
