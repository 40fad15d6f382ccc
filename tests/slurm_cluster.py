"""A real one-node SLURM cluster on localhost, for the cluster-submission test.

Debian's SLURM (slurmctld, slurmd, client tools) and munge are installed with apt-get
when missing (root only; about 11 s). The controller and node run in the foreground
as child processes with their configuration, state, spool and logs in a temporary
folder; ``slurm.conf`` and ``gres.conf`` go to ``/etc/slurm`` (where ``srun`` inside a
job looks), refusing to overwrite a site's own. :meth:`LocalSlurm.stop` ends every
daemon it started, by PID, and removes the two files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")

MARKER = "# written by genreflow's tests/slurm_cluster.py; removed when the test ends"
# The executor's job step runs `srun` with every SLURM_* variable but a few removed,
# SLURM_CONF included, so the configuration must be where SLURM looks by default.
CONF_DIR = Path("/etc/slurm")
SLURM_CONF = (
    MARKER
    + """
ClusterName=genreflow-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
ReturnToService=2
GresTypes=gpu
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=20000 Gres=gpu:fake:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
)
# without File= the node's GPU is INVAL and the node never becomes idle
GRES_CONF = MARKER + "\nNodeName=localhost Name=gpu Type=fake File=/dev/null\n"


class SlurmUnavailable(RuntimeError):
    """SLURM could not be installed or started here."""


def ensure_installed() -> None:
    """Install Debian's SLURM and munge if a binary is missing."""
    if all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged")):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SlurmUnavailable(
            f"SLURM is not installed and this is not a root Debian system: install "
            f"{' '.join(PACKAGES)} to run the cluster test."
        )
    command = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )
    if result.returncode != 0:
        update = subprocess.run(["apt-get", "update"], capture_output=True, text=True, check=False)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if update.returncode != 0 or result.returncode != 0:
            raise SlurmUnavailable(f"apt-get install failed:\n{result.stderr[-2000:]}")


class LocalSlurm:
    """munged, slurmctld and ``slurmd -N localhost`` started in ``root``."""

    def __init__(self, root: Path, cpus: int = 2) -> None:
        self.root = root
        self.cpus = cpus
        self.conf = CONF_DIR / "slurm.conf"
        self.gres = CONF_DIR / "gres.conf"
        self.processes: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        """The environment in which SLURM's client tools talk to this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 180) -> LocalSlurm:
        ensure_installed()
        for folder in ("state", "spool"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        for path in (self.conf, self.gres):
            if path.exists() and not path.read_text().startswith(MARKER):
                raise SlurmUnavailable(f"{path} exists (a real SLURM setup?): not overwriting it.")
        CONF_DIR.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(SLURM_CONF.format(root=self.root, cpus=self.cpus))
        self.gres.write_text(GRES_CONF)
        self._start_munge()
        self._spawn(["slurmctld", "-D", "-i", "-f", str(self.conf)], "slurmctld")
        self._wait(lambda: self._run("sinfo", "-h").returncode == 0, timeout, "slurmctld")
        self._spawn(["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)], "slurmd")
        self._wait(lambda: self.node_state() == "idle", timeout, "the node to become idle")
        return self

    def _start_munge(self) -> None:
        run_dir = Path("/run/munge")
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True)
            shutil.chown(key, "munge", "munge")
            key.chmod(0o400)
        if subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode == 0:
            return  # a munged is already serving this machine
        self._spawn(["runuser", "-u", "munge", "--", "munged", "--foreground", "--force"], "munged")
        self._wait(
            lambda: (
                subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode == 0
            ),
            20,
            "munged",
        )

    def _spawn(self, command: list[str], name: str) -> None:
        # the daemon writes its log for as long as it runs; close() is left to the OS
        log = open(self.root / f"{name}.stdout", "wb")  # noqa: SIM115
        self.processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        )

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True, env=self.env, check=False)

    def node_state(self) -> str:
        return self._run("sinfo", "-h", "-N", "-o", "%T").stdout.strip()

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            for process in self.processes:
                if process.poll() is not None:
                    raise SlurmUnavailable(
                        f"{process.args[0]} exited with {process.returncode} while waiting "
                        f"for {what}; see {self.root}"
                    )
            time.sleep(0.5)
        raise SlurmUnavailable(f"timed out after {timeout} s waiting for {what}; see {self.root}")

    def stop(self) -> None:
        """End every daemon this object started (newest first), by PID."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        for path in (self.conf, self.gres):
            if path.exists() and path.read_text().startswith(MARKER):
                path.unlink()
