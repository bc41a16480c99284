"""Sharing the workflow's results through DVC, with Snakemake's view of them kept intact.

DVC (``dvc.yaml`` at the top of the repository) versions ``results/`` stage by stage and
moves it to and from a remote; Snakemake stays the executor. Two things need care:

* **The remote.** The committed default is a local directory outside the work tree
  (``.dvc/config``). ``KSTARLAB_DVC_REMOTE`` overrides its URL for these commands only;
  ``dvc remote modify --local NAME url PATH`` overrides it for plain ``dvc`` too. A missing
  remote, or one lacking the objects of this commit, ends in one line saying what to run.
* **Timestamps.** DVC does not keep modification times: after ``dvc pull`` or
  ``dvc checkout`` the files carry the time they were linked, in no particular order, and a
  fresh clone has no ``.snakemake`` metadata. Snakemake would then rerun jobs whose inputs
  look newer than their outputs and could not see a params or code change. So after
  checking with ``dvc status`` that the outputs are exactly those ``dvc.lock`` records for
  this commit's code and config, :func:`touch` runs ``snakemake --touch --forceall``: every
  output is touched in DAG order and its metadata (params, code, input) recorded, as if the
  jobs had just run here. Outputs that do not match are never touched: that would hide work
  that must rerun.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kstarlab.errors import InputError
from kstarlab.extras import require

ENV_REMOTE = "KSTARLAB_DVC_REMOTE"
DEFAULT_CONFIG = "config/config.yaml"
#: Snakemake targets whose DAG covers every output the DVC stages version.
TOUCH_TARGETS = ("dvc_data", "dvc_models", "dvc_report")
SEE = "README: Versioning data with DVC"


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    override: dict[str, Any]  # merged into DVC's config (empty: as configured)

    @property
    def local_path(self) -> Path | None:
        """The directory of a local or shared-filesystem remote; None for s3://, ssh://..."""
        if self.url.startswith("file://"):
            return Path(self.url[len("file://") :])
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", self.url):
            return None
        return Path(os.path.expanduser(self.url))

    def describe(self) -> str:
        return f"{self.name!r} ({self.url})"


def find_root(start: Path | str | None = None) -> Path:
    """The repository holding ``dvc.yaml`` and ``.dvc/``, from ``start`` (cwd) upwards."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file() and (folder / ".dvc").is_dir():
            return folder
    raise InputError(
        f"no dvc.yaml with a .dvc folder in {here} or above: run this in the kstarlab repository"
    )


def stage_config(root: Path) -> str:
    """The Snakemake config the DVC stages run: ``vars: - config: ...`` of dvc.yaml."""
    import yaml

    spec = yaml.safe_load((root / "dvc.yaml").read_text()) or {}
    for entry in spec.get("vars") or ():
        if isinstance(entry, dict) and "config" in entry:
            return str(entry["config"])
    return DEFAULT_CONFIG


@contextlib.contextmanager
def _quiet_dvc() -> Iterator[None]:
    """DVC's warnings repeat what our one-line errors say; keep its errors."""
    loggers = [logging.getLogger(name) for name in ("dvc", "dvc_data", "dvc_objects")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _repo(root: Path, override: dict[str, Any] | None = None) -> Any:
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    repo_class = require("dvc.repo").Repo

    return repo_class(str(root), config=override or None)


def resolve_remote(root: Path, name: str | None = None) -> Remote:
    """The remote to use: ``name``, else DVC's default; ``KSTARLAB_DVC_REMOTE`` sets its URL."""
    env_url = os.environ.get(ENV_REMOTE, "").strip()
    with _repo(root) as repo:
        config = repo.config
        remotes = dict(config.get("remote", {}))
        default = config.get("core", {}).get("remote")
    chosen = name or default or ("local" if env_url else None)
    if chosen is None:
        raise InputError(
            f"no DVC remote is configured: set {ENV_REMOTE}=/path/to/remote, or run "
            f"`dvc remote add -d NAME URL` ({SEE})"
        )
    if env_url:
        override = {"core": {"remote": chosen}, "remote": {chosen: {"url": env_url}}}
        return Remote(chosen, env_url, override)
    if chosen not in remotes:
        known = ", ".join(sorted(remotes)) or "none"
        raise InputError(
            f"there is no DVC remote named {chosen!r} (configured: {known}): run "
            f"`dvc remote add {chosen} URL`, or set {ENV_REMOTE}=/path/to/remote ({SEE})"
        )
    override = {"core": {"remote": chosen}} if name else {}
    return Remote(chosen, str(remotes[chosen]["url"]), override)


def push(root: Path, remote: str | None = None) -> str:
    """``dvc push`` of every output ``dvc.lock`` records; returns a one-line summary."""
    from dvc.exceptions import DvcException

    target = resolve_remote(root, remote)
    with _quiet_dvc(), _repo(root, target.override) as repo:
        try:
            count = repo.push(remote=target.name)
        except DvcException as exc:
            raise InputError(
                f"dvc push to {target.describe()} failed: {_one_line(exc)}; check that the "
                f"remote is reachable and writable ({SEE})"
            ) from exc
    return f"pushed {count} new file(s) to {target.describe()}"


def pull(root: Path, remote: str | None = None, touch_outputs: bool = True) -> str:
    """``dvc pull``, then :func:`touch` so Snakemake sees the pulled results as up to date."""
    from dvc.exceptions import CheckoutError, DvcException

    target = resolve_remote(root, remote)
    path = target.local_path
    if path is not None and not path.is_dir():
        raise InputError(
            f"the DVC remote {target.describe()} does not exist: run `kstarlab data push` "
            f"where the results were made, or point this at the remote holding them "
            f"({ENV_REMOTE}=PATH or `dvc remote modify --local {target.name} url PATH`)"
        )
    with _quiet_dvc(), _repo(root, target.override) as repo:
        try:
            stats = repo.pull(remote=target.name)
        except CheckoutError as exc:
            failed = ", ".join(exc.target_infos) or "some outputs"
            raise InputError(
                f"the DVC remote {target.describe()} lacks files this commit needs "
                f"({failed}): run `kstarlab data push` where they were made, or "
                f"`dvc repro` here to rebuild them"
            ) from exc
        except DvcException as exc:
            raise InputError(f"dvc pull from {target.describe()} failed: {_one_line(exc)}") from exc
    fetched = stats.get("stats", {}).get("fetched", 0)
    line = f"pulled {fetched} file(s) from {target.describe()}"
    if touch_outputs:
        line += "; " + touch(root)
    return line


def checkout(root: Path, touch_outputs: bool = True) -> str:
    """``dvc checkout`` (e.g. after ``git checkout`` of an older commit), then :func:`touch`."""
    from dvc.exceptions import CheckoutError, DvcException

    with _quiet_dvc(), _repo(root) as repo:
        try:
            repo.checkout()
        except CheckoutError as exc:
            failed = ", ".join(exc.target_infos) or "some outputs"
            raise InputError(
                f"the DVC cache lacks files of this commit ({failed}): run "
                f"`kstarlab data pull` to fetch them from the remote"
            ) from exc
        except DvcException as exc:
            raise InputError(f"dvc checkout failed: {_one_line(exc)}") from exc
    line = "checked out the outputs dvc.lock records"
    if touch_outputs:
        line += "; " + touch(root)
    return line


def changed_stages(root: Path) -> list[str]:
    """Stages whose code, config keys or outputs differ from ``dvc.lock`` (``dvc status``)."""
    with _quiet_dvc(), _repo(root) as repo:
        status = repo.status()
    return sorted(name.split(":")[-1] for name in status)


def touch(root: Path) -> str:
    """Make Snakemake's timestamps and metadata agree with outputs DVC just linked.

    Only when ``dvc status`` is clean, i.e. the outputs are exactly those this commit's
    code and config produce; otherwise raise, and leave the files alone.
    """
    changed = changed_stages(root)
    if changed:
        raise InputError(
            f"the outputs do not match this commit's code and config (dvc status: stage(s) "
            f"{', '.join(changed)} changed), so Snakemake's timestamps were left alone: run "
            f"`dvc repro` to bring them up to date"
        )
    config = stage_config(root)
    cmd = [
        _snakemake(),
        "all",
        *TOUCH_TARGETS,
        "--snakefile",
        str(root / "Snakefile"),
        "--directory",
        str(root),
        "--configfile",
        config,
        "--touch",
        "--forceall",
        "--cores",
        "1",
        "--quiet",
    ]
    proc = subprocess.run(cmd, cwd=root, text=True, capture_output=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"snakemake --touch with {config} failed: {last}")
    return f"outputs match dvc.lock; Snakemake timestamps and metadata restored ({config})"


def _snakemake() -> str:
    local = Path(sys.executable).parent / "snakemake"
    found = str(local) if local.exists() else shutil.which("snakemake")
    if not found:
        raise InputError(
            "snakemake is not installed; install the extra: pip install 'kstarlab[workflow]'"
        )
    return found


def _one_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    return " ".join(text.split()) or type(exc).__name__
