"""Ask a BeeGFS installation how it is, over SSH: the management host runs the BeeGFS tool
(BeeGFS 8 `beegfs` or BeeGFS 7 `beegfs-ctl`, detected), each client host reports its mounts and
services. Commands run concurrently on pooled connections (one per host).

Only I/O and parsing live here; what the answers mean is decided in cockpit/storage_health.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, TypeVar

from backends.beegfs import parsers
from backends.beegfs.models import ClientMount, Note, ServiceState, StorageNode, StorageTarget
from backends.ssh.pool import CommandResult, SshError, SshPool, SshTarget

if TYPE_CHECKING:
    from backends.beegfs.settings import BeegfsSettings

Tool = Literal["beegfs", "beegfs-ctl"]
T = TypeVar("T")

SERVER_UNITS = ("beegfs-mgmtd.service", "beegfs-meta.service", "beegfs-storage.service")
CLIENT_UNITS = ("beegfs-client.service", "beegfs-helperd.service")
MOUNTS_MARK = "@@cockpit-services@@"


class CommandFailed(RuntimeError):
    pass


async def gather_all(*aws: Any) -> list[Any]:
    """Await everything (each is bounded by its own timeout), then raise the first failure in
    argument order: the same broken command is reported every time, and none is left running."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def ssh_target(settings: "BeegfsSettings", host: str) -> SshTarget:
    # Port 22 is left to ~/.ssh/config (which may name another port for this host alias).
    return SshTarget(
        host=host,
        port=settings.ssh_port if settings.ssh_port != 22 else None,
        user=settings.ssh_user,
        client_keys=(settings.ssh_key,) if settings.ssh_key else (),
        known_hosts=settings.known_hosts,
    )


def systemctl_show(units: tuple[str, ...]) -> str:
    return "systemctl show -p Id,LoadState,ActiveState,SubState " + " ".join(units)


@dataclass
class Observation:
    """Everything one collection produced, already parsed."""

    tool: Tool
    nodes: list[StorageNode] = field(default_factory=list)
    targets: list[StorageTarget] = field(default_factory=list)
    mounts: list[ClientMount] = field(default_factory=list)
    services: list[ServiceState] = field(default_factory=list)
    tool_health: list[parsers.HealthLine] = field(default_factory=list)
    # Parts that failed without failing the whole collection (shown as reasons).
    problems: list[str] = field(default_factory=list)
    # Optional commands that failed or printed something unexpected: that part of the pane is
    # empty and says why; the verdict does not change.
    notes: list[Note] = field(default_factory=list)


def node_item(rec: parsers.NodeRecord, address: str | None = None) -> StorageNode:
    ident = f"{rec.type}:{rec.num_id}" if rec.num_id is not None else f"{rec.type}:{rec.name}"
    return StorageNode(id=ident, num_id=rec.num_id, type=rec.type, name=rec.name,  # type: ignore[arg-type]
                       host=rec.address or address, reachable=rec.reachable)


def merge_targets(states: list[parsers.TargetState], spaces: list[parsers.TargetSpace]) -> list[StorageTarget]:
    by_key = {(s.type, s.id): s for s in spaces}
    out = []
    for st in states:
        sp = by_key.pop((st.type, st.id), None)
        out.append(StorageTarget(
            id=st.id, type=st.type, node=st.node, node_id=st.node_id, alias=st.alias,  # type: ignore[arg-type]
            reachability=st.reachability, consistency=st.consistency,
            capacity_pool=sp.capacity_pool if sp else None,
            total_bytes=sp.total_bytes if sp else None, free_bytes=sp.free_bytes if sp else None,
            total_inodes=sp.total_inodes if sp else None, free_inodes=sp.free_inodes if sp else None,
        ))
    for sp in by_key.values():  # listed by df but without a state line
        out.append(StorageTarget(id=sp.id, type=sp.type, capacity_pool=sp.capacity_pool,  # type: ignore[arg-type]
                                 total_bytes=sp.total_bytes, free_bytes=sp.free_bytes,
                                 total_inodes=sp.total_inodes, free_inodes=sp.free_inodes))
    return sorted(out, key=lambda t: (t.type != "meta", t.id))


class BeegfsReader:
    def __init__(self, settings: "BeegfsSettings", pool: SshPool) -> None:
        self.settings = settings
        self.pool = pool
        self.mgmt = ssh_target(settings, settings.management_host)
        self.tool: Tool | None = None if settings.tool == "auto" else settings.tool

    async def run(self, target: SshTarget, command: str) -> CommandResult:
        return await self.pool.run(target, command, timeout=self.settings.command_timeout)

    async def checked(self, command: str) -> str:
        """Run on the management host; a non-zero exit is an error naming the command."""
        result = await self.run(self.mgmt, command)
        if not result.ok:
            detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
            why = detail[-1] if detail else "no output"
            raise CommandFailed(f"`{command}` on {self.settings.management_host} exited {result.exit_status}: {why}")
        return result.stdout

    async def detect_tool(self) -> Tool:
        if self.tool is not None:
            return self.tool
        result = await self.run(self.mgmt, "for t in beegfs beegfs-ctl; do command -v \"$t\"; done; true")
        found = {line.strip().rsplit("/", 1)[-1] for line in result.stdout.splitlines() if line.strip()}
        if "beegfs" in found:
            self.tool = "beegfs"
        elif "beegfs-ctl" in found:
            self.tool = "beegfs-ctl"
        else:
            raise CommandFailed(f"neither `beegfs` (BeeGFS 8) nor `beegfs-ctl` (BeeGFS 7) is on the PATH of "
                                f"{self.settings.management_host}; install the BeeGFS tools there or set "
                                f"cockpit.beegfs.management_host to a host that has them")
        return self.tool

    async def collect(self) -> Observation:
        tool = await self.detect_tool()
        obs = Observation(tool=tool)
        server_part = self._collect_v8(obs) if tool == "beegfs" else self._collect_v7(obs)
        await gather_all(server_part, self._collect_server_services(obs),
                         *(self._collect_client(obs, h) for h in self.settings.client_hosts))
        obs.nodes.sort(key=lambda n: (["management", "meta", "storage", "client"].index(n.type), n.num_id or 0, n.name))
        obs.notes.sort(key=lambda n: n.part)  # optional commands finish in any order
        return obs

    # -- optional parts -------------------------------------------------------------------------
    async def _optional(self, obs: Observation, part: str, command: str, parse: Callable[[str], T]) -> T | None:
        """Run and parse a command the pane can do without: a failure, an SSH error or output the
        parser does not understand becomes a note on that part instead of an error for the source."""
        try:
            return parse(await self.checked(command))
        except (CommandFailed, SshError, parsers.ParseError) as exc:
            obs.notes.append(Note(part=part, message=str(exc)))
            return None

    # -- BeeGFS 7 ---------------------------------------------------------------------------
    async def _collect_v7(self, obs: Observation) -> None:
        node_types = ("management", "meta", "storage", "client")
        listnodes = [f"beegfs-ctl --listnodes --nodetype={t} --reachable" for t in node_types]
        listtargets = [f"beegfs-ctl --listtargets --nodetype={t} --state --longnodes" for t in ("meta", "storage")]
        required = [self.checked(c) for c in (*listnodes, *listtargets)]
        optional = [self._optional(obs, "capacity (beegfs-df)", "beegfs-df", parsers.parse_beegfs_df),
                    self._optional(obs, "server addresses (beegfs-check-servers)", "beegfs-check-servers",
                                   parsers.parse_check_servers)]
        *node_lists, meta_t, storage_t, spaces, servers = await gather_all(*required, *optional)
        address = {(s.type, s.num_id): s.address for s in servers or []}
        for kind, text in zip(node_types, node_lists, strict=True):
            obs.nodes.extend(node_item(r, address.get((r.type, r.num_id))) for r in parsers.parse_ctl_listnodes(text, kind))
        states = parsers.parse_ctl_listtargets(meta_t, "meta") + parsers.parse_ctl_listtargets(storage_t, "storage")
        obs.targets = merge_targets(states, spaces or [])

    # -- BeeGFS 8 ---------------------------------------------------------------------------
    async def _listing(self, command: str) -> str:
        """`beegfs --output json ... <command>`; a release without the --output flag (8.0's
        cmdfmt.TableWrapper) is asked again for its table, which the parsers read as well."""
        try:
            return await self.checked(f"beegfs --output json {command}")
        except CommandFailed as exc:
            if "unknown flag" not in str(exc):
                raise
        return await self.checked(f"beegfs {command}")

    async def _collect_v8(self, obs: Observation) -> None:
        nodes_out, targets_out = await gather_all(
            self._listing("node list --reachability-check"),
            self._listing("--raw target list --state --capacity"),
        )
        obs.nodes.extend(node_item(r) for r in parsers.parse_v8_node_list(nodes_out))
        states, spaces = parsers.parse_v8_target_list(targets_out)
        obs.targets = merge_targets(states, spaces)
        # The health check exits non-zero when a check fails: that is an answer, not an error.
        part, command = "BeeGFS's own health check (beegfs health check)", "beegfs --disable-emojis health check"
        try:
            health = await self.run(self.mgmt, command)
            obs.tool_health = parsers.parse_v8_health(health.stdout)
        except SshError as exc:
            obs.notes.append(Note(part=part, message=f"`{command}`: {exc}"))
            return
        except parsers.ParseError as exc:
            obs.notes.append(Note(part=part, message=str(exc)))
            return
        if not obs.tool_health:
            detail = (health.stderr.strip() or health.stdout.strip() or "no output").splitlines()[-1]
            obs.notes.append(Note(part=part, message=f"`{command}` on {self.settings.management_host} exited "
                                                     f"{health.exit_status} without check results: {detail[:200]}"))

    # -- services and client mounts ----------------------------------------------------------
    async def _collect_server_services(self, obs: Observation) -> None:
        try:
            result = await self.run(self.mgmt, systemctl_show(SERVER_UNITS))
        except SshError as exc:
            obs.problems.append(f"services on {self.settings.management_host}: {exc}")
            return
        obs.services.extend(self._units(self.settings.management_host, result.stdout))

    @staticmethod
    def _units(host: str, text: str) -> list[ServiceState]:
        return [ServiceState(host=host, unit=u.unit.removesuffix(".service"), active=u.active, sub=u.sub)
                for u in parsers.parse_systemctl_show(text) if u.load not in ("not-found", "")]

    async def _collect_client(self, obs: Observation, host: str) -> None:
        mount_point = self.settings.mount_point.rstrip("/") or "/"
        command = f"cat /proc/mounts; echo {MOUNTS_MARK}; {systemctl_show(CLIENT_UNITS)} 2>/dev/null; true"
        try:
            result = await self.run(ssh_target(self.settings, host), command)
        except SshError as exc:
            obs.mounts.append(ClientMount(host=host, mount_point=mount_point, mounted=False, error=str(exc)))
            return
        mounts_text, mark, units_text = result.stdout.partition(MOUNTS_MARK + "\n")
        if not mark:
            obs.mounts.append(ClientMount(host=host, mount_point=mount_point, mounted=False,
                                          error=f"no answer to `cat /proc/mounts` ({result.stderr.strip()[:200]})"))
            return
        entries = parsers.parse_proc_mounts(mounts_text)
        beegfs = next((m for m in entries if m.mount_point.rstrip("/") == mount_point and m.fstype == "beegfs"), None)
        other = next((m for m in entries if m.mount_point.rstrip("/") == mount_point), None)
        if beegfs is not None:
            obs.mounts.append(ClientMount(host=host, mount_point=mount_point, mounted=True, fstype="beegfs",
                                          options=beegfs.options))
        else:
            obs.mounts.append(ClientMount(host=host, mount_point=mount_point, mounted=False,
                                          fstype=other.fstype if other else None, options=other.options if other else None))
        obs.services.extend(self._units(host, units_text))

