"""A real single-node SLURM cluster on localhost, for the tests (Debian's slurm-wlm + munge).

`LocalSlurm` writes its own munge key and ``slurm.conf`` into a folder, starts ``munged``,
``slurmctld`` and ``slurmd`` in the foreground as children of the test process, waits until
``sinfo`` shows the node idle, and stops exactly those processes (by PID) on ``stop()``.
Clients find the cluster through ``SLURM_CONF`` (see ``env``); nothing under /etc is used,
ports are picked free, so it neither needs nor disturbs a system-wide SLURM.

    python tests/localslurm.py /tmp/cluster   # start one by hand, print its SLURM_CONF
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from system import ensure_debian_package

# Jobs must stay visible to `squeue` long enough for Snakemake's status checks.
MIN_JOB_AGE = 600


def install() -> None:
    """Install slurm-wlm and munge when missing; RuntimeError if that needs root."""
    for package, binary in (
        ("munge", "munged"),
        ("munge", "mungekey"),
        ("slurm-wlm", "slurmctld"),
        ("slurm-wlm", "slurmd"),
        ("slurm-client", "sbatch"),
    ):
        ensure_debian_package(package, binary)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_memory_mb(margin_mb: int = 2048) -> int:
    """The machine's memory (from /proc/meminfo) minus a margin for the daemons and the OS."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return max(1024, int(line.split()[1]) // 1024 - margin_mb)
    raise RuntimeError("no MemTotal in /proc/meminfo")


SLURM_CONF = """\
# Single-node test cluster on localhost, written by tests/localslurm.py.
ClusterName=kstarlab-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MinJobAge={min_job_age}
MpiDefault=none
SwitchType=switch/none
LaunchParameters=use_interactive_step
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class LocalSlurm:
    def __init__(self, root: Path | str, cpus: int | None = None) -> None:
        self.root = Path(root).resolve()
        self.cpus = cpus or os.cpu_count() or 1
        self.memory = node_memory_mb()
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def env(self) -> dict[str, str]:
        """What a client (sbatch, squeue, snakemake) needs to talk to this cluster."""
        path = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return {"SLURM_CONF": str(self.conf), "PATH": path}

    def write_config(self) -> None:
        for sub in ("state", "spool", "munge", "bin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # Snakemake's slurm-jobstep executor removes every SLURM_* variable, SLURM_CONF
        # included, before it runs `srun` inside the job; a real cluster's srun then reads
        # /etc/slurm/slurm.conf. This cluster's config is not there, so jobs find an srun
        # first on PATH that puts SLURM_CONF back.
        srun = self.root / "bin" / "srun"
        real = shutil.which("srun") or "/usr/bin/srun"  # this process has no shim on PATH
        srun.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec {real} "$@"\n')
        srun.chmod(0o755)
        os.chmod(self.root / "munge", 0o700)
        self.conf.write_text(
            SLURM_CONF.format(
                root=self.root,
                ctld_port=free_port(),
                slurmd_port=free_port(),
                munge_socket=self.munge_socket,
                min_job_age=MIN_JOB_AGE,
                cpus=self.cpus,
                memory=self.memory,
            )
        )

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / f"{name}.out", "wb")  # noqa: SIM115 (lives as long as the daemon)
        self.procs[name] = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
            start_new_session=True,  # a Ctrl-C of the tests is not sent to the daemons
        )

    def start(self, timeout: float = 60) -> None:
        self.write_config()
        key = self.root / "munge" / "munge.key"
        subprocess.run(["mungekey", "--create", "--force", f"--keyfile={key}"], check=True)
        os.chmod(key, 0o600)
        munge = self.root / "munge"
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={self.munge_socket}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--log-file={munge / 'munged.log'}",
                f"--seed-file={munge / 'munged.seed'}",
            ],
        )
        self._wait(lambda: self.munge_socket.exists(), "munged socket", timeout)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._ok(["scontrol", "ping"], "UP"), "slurmctld", timeout)
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)])
        self._wait(self.node_idle, "the node to be idle in sinfo", timeout)

    def _ok(self, cmd: list[str], needle: str) -> bool:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, **self.env}, timeout=30
        )
        return proc.returncode == 0 and needle in proc.stdout

    def node_idle(self) -> bool:
        return self._ok(["sinfo", "-h", "-N", "-o", "%N %t"], "localhost idle")

    def _wait(self, ready, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited {proc.returncode}:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting for {what}:\n{self.logs()}")

    def logs(self) -> str:
        out = []
        for path in sorted(self.root.glob("*.out")) + sorted(self.root.glob("*.log")):
            out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def jobs(self, states: str = "all") -> list[tuple[str, str]]:
        """(job id, state) of the jobs squeue knows (finished ones stay MIN_JOB_AGE s)."""
        proc = subprocess.run(
            ["squeue", "-h", "-t", states, "-o", "%i %T"],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
            timeout=30,
            check=True,
        )
        return [tuple(line.split()) for line in proc.stdout.splitlines() if line.strip()]

    def stop(self) -> None:
        """Cancel jobs still queued or running, then SIGTERM the daemons this object
        started, by PID (slurmd first), and SIGKILL any that do not exit."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            try:
                live = [job for job, _ in self.jobs("PENDING,RUNNING,COMPLETING")]
                if live:
                    subprocess.run(["scancel", *live], env={**os.environ, **self.env}, timeout=30)
                    deadline = time.monotonic() + 30
                    while self.jobs("PENDING,RUNNING,COMPLETING") and time.monotonic() < deadline:
                        time.sleep(1)
            except (subprocess.SubprocessError, OSError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs.clear()


if __name__ == "__main__":
    cluster = LocalSlurm(sys.argv[1])
    cluster.start()
    print(f"export SLURM_CONF={cluster.conf}")
    print("pids: " + " ".join(f"{n}={p.pid}" for n, p in cluster.procs.items()))
    try:
        signal.pause()
    finally:
        cluster.stop()
