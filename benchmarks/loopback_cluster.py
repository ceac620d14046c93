"""A Ray cluster of two nodes on this machine, for the tests and the benchmarks: a head and a second node started
with `ray start` on loopback (separate processes, as two machines would run them), one CPU each, under a token of
their own; every process of theirs is killed afterwards by PID (`ray stop` would stop any Ray on the machine)."""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with(token, folder=None):
    """The PIDs of this machine's processes of one cluster (of its node whose temporary folder is `folder`): those
    whose environment holds its `token` (and command line the folder), and all their children (Ray's agents rewrite
    their environment with their process title)."""
    environments, command_lines, parents = {}, {}, {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                environments[int(entry.name)] = (entry / "environ").read_bytes()
                command_lines[int(entry.name)] = (entry / "cmdline").read_bytes()
                parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    ours = {pid for pid, environment in environments.items() if f"RAY_AUTH_TOKEN={token}".encode() in environment
            and (folder is None or str(folder).encode() in command_lines[pid])}
    while True:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        if not children:
            return sorted(ours)
        ours |= children


def kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def loopback_cluster(cpus=(1, 1)):
    """A node for each of `cpus`, with that many CPUs, the first the head. Yields {"address", "env" (to run a command
    against it), "stop_second_node" (a function that kills it), "second_folder" (its logs)}."""
    token = secrets.token_hex(16)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0"}
    port = free_port()
    # short folders: Ray's sockets live inside, and a socket's path may not exceed 107 bytes
    folders = [Path(tempfile.mkdtemp(prefix="rn", dir="/tmp")) for _ in cpus]
    common = ["--node-ip-address=127.0.0.1", "--object-store-memory=100000000"]
    try:
        for index, (folder, count) in enumerate(zip(folders, cpus)):
            role = ["--head", f"--port={port}", "--include-dashboard=false"] if index == 0 else [
                f"--address=127.0.0.1:{port}"]
            started = subprocess.run([str(RAY), "start", *role, *common, f"--num-cpus={count}", f"--temp-dir={folder}"],
                                     env=env, capture_output=True, text=True, timeout=120)
            if started.returncode != 0:
                raise RuntimeError(f"ray start failed:\n{started.stdout}{started.stderr}")
        yield {"address": f"127.0.0.1:{port}", "env": env, "second_folder": folders[-1],
               "stop_second_node": lambda: kill(processes_with(token, folders[-1]))}
    finally:
        kill(processes_with(token))
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
