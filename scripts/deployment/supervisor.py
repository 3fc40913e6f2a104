"""A small process supervisor: runs the services that ``services.table`` describes, on this host.

``start`` makes a service's home directory, runs its setup commands, then its command in a
session of its own (so its whole process group can be signalled), logging to ``logs/<name>.log``;
a daemon's command (PostgreSQL's ``pg_ctl start``) runs to completion instead. Then it waits for
each service's readiness check and runs its init commands. ``stop`` and ``stop_all`` SIGTERM the
process group, wait, then SIGKILL what is left of the group and of the process tree (Airflow runs
each task in a process group of its own); ``kill_tree`` SIGKILLs a whole tree at once, as a lost
machine would. Every command, wait and stop is bounded in time. ``state.json`` in the state
directory says what runs, so that :func:`stop_kept` can stop a deployment left running.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .context import say
from .services import Service

COMMAND_TIMEOUT = 120.0  # each setup or init command


def run(cmd: list[str], *, timeout: float, env: Mapping[str, str] | None = None, check: bool = True,
        user: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run a command to completion (bounded); its output is kept for the error message."""
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:6])} ... exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll ``probe`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except Exception as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (read from /proc), children first."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _signal(pid: int, sig: signal.Signals, *, group: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError):
        (os.killpg if group else os.kill)(pid, sig)


class Supervisor:
    """The processes of one deployment: started from the table, stopped tier by tier."""

    def __init__(
        self, state: Path, services: Mapping[str, Service], extra: Mapping[str, Any] | None = None
    ) -> None:
        self.state = state
        self.services = dict(services)
        self.extra = dict(extra or {})  # saved in state.json too
        self.logs = state / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.daemons: set[str] = set()
        self.offsets: dict[str, int] = {}  # where each service's latest start began in its log

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def running(self, name: str) -> bool:
        proc = self.procs.get(name)
        return name in self.daemons or (proc is not None and proc.poll() is None)

    # ---------------------------------------------------------------- starting

    def start(self, *names: str) -> None:
        """Launch each service, then wait for each to be ready (in order) and run its init commands."""
        for name in names:
            self._launch(self.services[name])
        for name in names:
            self.wait_ready(name)
            for init in self.services[name].init:
                run(list(init), timeout=COMMAND_TIMEOUT, user=self.services[name].user)

    def _launch(self, service: Service) -> None:
        if service.home is not None:
            service.home.mkdir(parents=True, exist_ok=True)
            if service.user:
                shutil.chown(service.home, service.user)
        for setup in service.setup:
            run(list(setup), timeout=COMMAND_TIMEOUT, env=service.env, user=service.user)
        if service.stop is not None:  # a daemon: its command returns once it runs
            run(list(service.command), timeout=service.ready_timeout, env=service.env, user=service.user)
            self.daemons.add(service.name)
        else:
            cmd = list(service.command)
            if service.user is not None:
                cmd = ["runuser", "-u", service.user, "--", *cmd]
            log = self.log(service.name)
            self.offsets[service.name] = log.stat().st_size if log.exists() else 0
            with log.open("ab") as out:
                self.procs[service.name] = subprocess.Popen(
                    cmd, env=None if service.env is None else dict(service.env), stdout=out,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.state,
                )  # fmt: skip
        self.save()

    def wait_ready(self, name: str) -> float:
        """Wait (bounded) for the service's readiness check; returns when it passed."""
        service = self.services[name]
        probe = service.ready
        if probe is not None:
            log, offset = self.log(name), self.offsets.get(name, 0)
            wait_for(f"{name} ({probe})", lambda: probe(log, offset), timeout=service.ready_timeout,
                     interval=probe.interval)  # fmt: skip
        return time.monotonic()

    # ---------------------------------------------------------------- stopping

    def stop(self, name: str, timeout: float | None = None) -> None:
        """SIGTERM the service's process group, then SIGKILL whatever is left of it (and of its tree)."""
        self._terminate([name], self.services[name].grace if timeout is None else timeout)
        self.save()

    def stop_all(self) -> None:
        """Tier by tier (Airflow first, the services it uses next, the daemons last): SIGTERM every
        process group of the tier at once, give them a shared grace period, SIGKILL what is left."""
        for tier in sorted({service.tier for service in self.services.values()}):
            names = [name for name, service in self.services.items() if service.tier == tier]
            live = [name for name in names if name in self.procs]
            if live:
                self._terminate(live, max(self.services[name].grace for name in live), announce=True)
            for name in names:
                service = self.services[name]
                if name in self.daemons and service.stop is not None:
                    run(list(service.stop), timeout=service.grace, user=service.user, check=False)
                    self.daemons.discard(name)
        self.save()

    def _terminate(self, names: list[str], grace: float, announce: bool = False) -> None:
        live = {name: self.procs[name] for name in names if self.procs[name].poll() is None}
        trees = {name: descendants(proc.pid) for name, proc in live.items()}
        for proc in live.values():
            _signal(proc.pid, signal.SIGTERM, group=True)
        deadline = time.monotonic() + grace
        for name, proc in live.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                if announce:
                    say(f"{name} ignored SIGTERM for {grace:.0f}s: SIGKILL")
                _signal(proc.pid, signal.SIGKILL, group=True)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
            for pid in trees[name]:  # task processes live in process groups of their own
                if alive(pid):
                    _signal(pid, signal.SIGKILL)

    def kill_tree(self, name: str) -> tuple[int, int]:
        """SIGKILL a service's whole tree: its process group and the task processes that Airflow
        moved into groups of their own (which a ``killpg`` of the group alone would leave running).
        Returns how many processes and process groups it killed."""
        proc = self.procs[name]
        tree = descendants(proc.pid)
        groups = {proc.pid}
        for pid in tree:
            with contextlib.suppress(OSError):
                groups.add(os.getpgid(pid))
        for group in groups:
            _signal(group, signal.SIGKILL, group=True)
        for pid in tree:
            _signal(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        wait_for(f"{name}'s killed processes to be gone", lambda: not any(alive(p) for p in tree), timeout=30,
                 interval=0.2)  # fmt: skip
        self.save()
        return len(tree) + 1, len(groups)

    def save(self) -> None:
        (self.state / "state.json").write_text(json.dumps({
            "pgids": {name: proc.pid for name, proc in self.procs.items() if proc.poll() is None},
            "daemons": {name: {"stop": list(self.services[name].stop or ()), "user": self.services[name].user}
                        for name in sorted(self.daemons)},
            "ports": {key: port for service in self.services.values() for key, port in service.ports.items()},
            **self.extra,
        }, indent=2))  # fmt: skip


def stop_kept(state: Path) -> dict[str, Any]:
    """Stop a deployment left running (``--keep``) from its ``state.json``; returns what it read."""
    info: dict[str, Any] = json.loads((state / "state.json").read_text())
    for name, pgid in info["pgids"].items():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
            print(f"stopped {name}")
    time.sleep(5)
    for pgid in info["pgids"].values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    for name, daemon in info.get("daemons", {}).items():
        run(daemon["stop"], timeout=90, user=daemon["user"], check=False)
        print(f"stopped {name}")
    return info
