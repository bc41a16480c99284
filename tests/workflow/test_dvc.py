"""DVC as the versioning layer over the Snakemake workflow (issue 8).

The round trip runs in temporary copies, never in this work tree: the working tree is
copied, committed to a fresh git repository (`origin`), run through `dvc repro` on the smoke
config and pushed to a temporary remote; a `git clone` of it then pulls, and must hold the
same bytes with nothing left to run for Snakemake or DVC. To keep `make test` short, the
origin starts from the session's smoke run (the `smoke_run` fixture): `dvc repro` then runs
every stage, and Snakemake finds each stage's jobs done. The changed-config test computes
for real.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from system import BIN, REPO, planned_jobs, run, snakemake, tool

STAGES = ["data", "models", "latents", "analysis", "embeddings", "pruning", "report"]
# The layout: which results each stage versions.
STAGE_OUTS = {
    "data": ["results/data"],
    "models": ["results/models"],
    "latents": ["results/latents"],
    "analysis": ["results/kstar", "results/geometry"],
    "embeddings": ["results/embeddings"],
    "pruning": ["results/pruning"],
    "report": ["results/tables", "results/figures", "results/report.html", "results/explorer.html"],
}
# Which DVC stage runs the rules of each rule file (common.smk and dvc.smk: every stage).
RULE_FILES = {
    "data.smk": "data",
    "train.smk": "models",
    "extract.smk": "latents",
    "kstar.smk": "analysis",
    "geometry.smk": "analysis",
    "embeddings.smk": "embeddings",
    "pruning.smk": "pruning",
    "tables.smk": "report",
    "report.smk": "report",
    "explorer.smk": "report",
}
EVERY_STAGE = ("common.smk", "dvc.smk")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "kstarlab tests",
    "GIT_AUTHOR_EMAIL": "tests@kstarlab.invalid",
    "GIT_COMMITTER_NAME": "kstarlab tests",
    "GIT_COMMITTER_EMAIL": "tests@kstarlab.invalid",
}
UP_TO_DATE = "Data and pipelines are up to date."


def dvc_spec(root: Path = REPO) -> dict:
    return yaml.safe_load((root / "dvc.yaml").read_text())


def outs_of(stage: dict) -> list[str]:
    return [next(iter(o)) if isinstance(o, dict) else o for o in stage["outs"]]


def tracked_keys() -> set[str]:
    keys: set[str] = set()
    for stage in dvc_spec()["stages"].values():
        for entry in stage.get("params", []):
            keys.update(*entry.values())
    return keys


# --- the setup, checked without running anything -----------------------------------------


def test_stages_follow_the_pipeline():
    spec = dvc_spec()
    assert list(spec["stages"]) == STAGES
    assert spec["vars"] == [{"config": "config/config.yaml"}]
    rules = (REPO / "workflow/rules/dvc.smk").read_text()
    every_out: list[str] = []
    for name, stage in spec["stages"].items():
        assert f"snakemake dvc_{name} --cores all --configfile ${{config}}" in stage["cmd"]
        assert f"rule dvc_{name}:" in rules
        assert outs_of(stage) == STAGE_OUTS[name]
        for out in stage["outs"]:
            assert next(iter(out.values())) == {"persist": True}, f"{name}: {out}"
        assert [next(iter(p)) for p in stage["params"]] == ["${config}"]
        every_out += outs_of(stage)
    for a in every_out:  # no output inside another, across or within stages
        for b in every_out:
            assert a == b or not (b + "/").startswith(a + "/"), (a, b)


@pytest.mark.parametrize("config", ["config/config.yaml", "config/paper.yaml"])
def test_shipped_configs_hold_every_tracked_key(config):
    """DVC refuses to run a stage whose params are missing from the config file."""
    cfg = yaml.safe_load((REPO / config).read_text())
    assert tracked_keys() <= set(cfg), sorted(tracked_keys() - set(cfg))


def test_stage_deps_cover_the_code_they_run():
    """Each stage depends on its rule files, their scripts, the schema and the Snakefile."""
    stages = dvc_spec()["stages"]
    rule_files = sorted(p.name for p in (REPO / "workflow/rules").glob("*.smk"))
    for name in rule_files:
        if name in EVERY_STAGE:
            owners = STAGES
        else:
            assert name in RULE_FILES, f"workflow/rules/{name} belongs to no DVC stage"
            owners = [RULE_FILES[name]]
        text = (REPO / "workflow/rules" / name).read_text()
        need = {"Snakefile", f"workflow/rules/{name}", "workflow/schemas/config.schema.yaml"}
        need |= {f"workflow/scripts/{s}" for s in re.findall(r'"\.\./scripts/([\w.]+)"', text)}
        for owner in owners:
            missing = need - set(stages[owner]["deps"])
            assert not missing, f"stage {owner} lacks deps {sorted(missing)} ({name})"
    earlier: list[str] = []  # results deps are outputs of earlier stages: DVC's order
    for stage in stages.values():
        for dep in stage["deps"]:
            assert dep in earlier if dep.startswith("results/") else (REPO / dep).exists(), dep
        earlier += outs_of(stage)


def test_stage_library_deps_are_the_code_sets():
    """The src/kstarlab deps of each stage are derived (kstarlab.workflow.codesets): the code sets of
    its scripts and the modules the workflow's own code imports. On a difference, the
    message is the diff that `python -m kstarlab.workflow.codesets --dvc dvc.yaml --fix` applies."""
    from kstarlab.workflow.codesets import dvc_diff, fix_dvc, script_code, workflow_modules

    text = (REPO / "dvc.yaml").read_text()
    fixed = fix_dvc(REPO, text)
    assert fixed == text, (
        "dvc.yaml's library deps differ from the code sets; run "
        "`python -m kstarlab.workflow.codesets --dvc dvc.yaml --fix`, which applies:\n"
        + dvc_diff(text, fixed)
    )
    # the derivation itself: the k* stage holds the engine and the k* job, the models stage
    # (training) neither; every stage holds what the workflow's planning imports
    deps = {name: stage["deps"] for name, stage in dvc_spec()["stages"].items()}
    assert {"src/kstarlab/kstar/engine.py", "src/kstarlab/workflow/jobs/kstar_cells.py"} <= set(
        deps["analysis"]
    )
    assert not {"src/kstarlab/kstar/engine.py", "src/kstarlab/workflow/jobs/kstar_cells.py"} & set(
        deps["models"]
    )
    assert "kstarlab.latents.extraction" in script_code(REPO / "workflow/scripts/train.py").modules
    extraction = "src/kstarlab/latents/extraction.py"
    assert any(extraction == d or extraction.startswith(f"{d}/") for d in deps["models"])
    shared = workflow_modules(REPO, ["workflow/rules/common.smk"])
    assert {"kstarlab.workflow.plan", "kstarlab.workflow.codesets", "kstarlab.names"} <= set(shared)
    for name in STAGES:
        assert {"src/kstarlab/workflow/plan.py", "src/kstarlab/workflow/codesets.py"} <= set(
            deps[name]
        )


def test_dvc_config_and_pins():
    import tomllib

    config = (REPO / ".dvc/config").read_text()
    assert re.search(r"^\s*remote = local$", config, flags=re.M)
    assert re.search(r'^\s*type = "hardlink,copy"$', config, flags=re.M)
    assert re.search(r"^\s*analytics = false$", config, flags=re.M)
    url = re.search(r"^\s*url = (.+)$", config, flags=re.M).group(1).strip()
    remote = Path(os.path.expanduser(url)).resolve()
    assert REPO.resolve() not in (remote, *remote.parents), "the default remote is in the tree"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    # DVC is pinned in the workflow extra (make setup installs it): the core stays small.
    assert "dvc==3.67.1" in project["optional-dependencies"]["workflow"]
    assert project["optional-dependencies"]["s3"] == ["dvc-s3"]
    assert project["optional-dependencies"]["ssh"] == ["dvc-ssh"]
    for pattern in ("__pycache__/", "*.pyc"):
        assert pattern in (REPO / ".dvcignore").read_text().split()


def test_make_run_needs_no_dvc():
    """`make run` is plain Snakemake; it never writes the report through a cache link."""
    recipe = re.search(r"^run:.*?\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    lines = recipe.group(1).splitlines()
    assert not any(re.search(r"\bdvc\b", line) for line in lines), lines
    report = next(i for i, line in enumerate(lines) if "--report" in line)
    assert any("rm -f results/report.html" in line for line in lines[:report])


# --- the round trip ------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return run(["git", *args], cwd=repo, env=GIT_ENV).stdout


def env_for(repo: Path, remote: Path | str | None, site: Path) -> dict[str, str]:
    """Run the repository copy's own code; the remote only through KSTARLAB_DVC_REMOTE."""
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(repo / "src"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(site),
        "KSTARLAB_DVC_REMOTE": str(remote or ""),
        **GIT_ENV,
    }


def copy_work_tree(dest: Path) -> None:
    """The files git would see (tracked or not ignored), as they are now."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO)
    for rel in filter(None, listed.stdout.split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def use_smoke_config(repo: Path) -> None:
    """Point dvc.yaml at config/smoke.yaml, with `key: {}` (the schema's defaults, so the
    same Snakemake config) for each key the stages track that the smoke config leaves out."""
    spec = repo / "dvc.yaml"
    old = "- config: config/config.yaml"
    assert old in spec.read_text()
    spec.write_text(spec.read_text().replace(old, "- config: config/smoke.yaml"))
    smoke = repo / "config/smoke.yaml"
    cfg = yaml.safe_load(smoke.read_text())
    extra = "".join(f"{key}: {{}}\n" for key in sorted(tracked_keys() - set(cfg)))
    smoke.write_text(smoke.read_text() + extra)


def digests(repo: Path) -> dict[str, str]:
    """SHA-256 of every file the stages version."""
    out = {}
    for stage in dvc_spec(repo)["stages"].values():
        for rel in outs_of(stage):
            path = repo / rel
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                out[f.relative_to(repo).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def dvc(sandbox, repo: Path, *args: str, remote=True, check=True):
    env = env_for(repo, sandbox.remote if remote else None, sandbox.site)
    return run([tool("dvc"), *args], cwd=repo, env=env, check=check, timeout=1800)


def repro(sandbox, repo: Path) -> str:
    """`dvc repro`, with DVC's and Snakemake's output in the order they were written."""
    proc = subprocess.run(
        [tool("dvc"), "repro"],
        cwd=repo,
        env={**os.environ, **env_for(repo, sandbox.remote, sandbox.site)},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


def kstarlab_data(sandbox, repo: Path, *args: str, remote=True, check=True):
    env = env_for(repo, sandbox.remote if remote is True else remote, sandbox.site)
    return run([tool("kstarlab"), "data", *args], cwd=repo, env=env, check=check, timeout=900)


def plan(sandbox, repo: Path) -> list[tuple[str, str]]:
    out = snakemake(
        "-n",
        workdir=repo,
        configfile=repo / "config/smoke.yaml",
        snakefile=repo / "Snakefile",
        env=env_for(repo, None, sandbox.site),
    )
    return planned_jobs(out.stdout)


def clone(sandbox, name: str) -> Path:
    dest = sandbox.base / name
    run(["git", "clone", "-q", str(sandbox.origin), str(dest)], env=GIT_ENV)
    return dest


@pytest.fixture(scope="module")
def sandbox(smoke_run, tmp_path_factory):
    """`origin`: the work tree on the smoke config, through `dvc repro`, committed, pushed."""
    base = tmp_path_factory.mktemp("dvc")
    box = SimpleNamespace(base=base, origin=base / "origin", remote=base / "remote")
    box.site = base / "dvc-site-cache"
    origin = box.origin
    copy_work_tree(origin)
    use_smoke_config(origin)
    git(origin, "init", "-q")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "kstarlab on the smoke config")
    shutil.copytree(smoke_run / "results", origin / "results")
    shutil.copytree(smoke_run / ".snakemake/metadata", origin / ".snakemake/metadata")
    box.repro = repro(box, origin)
    git(origin, "add", "dvc.lock")
    git(origin, "commit", "-q", "-m", "dvc.lock")
    box.push = kstarlab_data(box, origin, "push").stdout
    return box


@pytest.fixture(scope="module")
def pulled(sandbox):
    """A fresh `git clone` of origin, pulled from the remote."""
    repo = clone(sandbox, "clone")
    pull = kstarlab_data(sandbox, repo, "pull")
    return SimpleNamespace(repo=repo, pull=pull.stdout)


@pytest.mark.slow
def test_repro_runs_every_stage_and_pushes(sandbox):
    for name in STAGES:
        assert f"Running stage '{name}'" in sandbox.repro
    lock = yaml.safe_load((sandbox.origin / "dvc.lock").read_text())
    assert list(lock["stages"]) == STAGES
    assert "config/smoke.yaml" in lock["stages"]["latents"]["params"]
    assert "pushed" in sandbox.push and str(sandbox.remote) in sandbox.push
    assert UP_TO_DATE in dvc(sandbox, sandbox.origin, "status").stdout
    # hardlinks to the cache, read-only: DVC's protection of the cache
    latents = sandbox.origin / "results/latents/mlp/clean.h5"
    assert latents.stat().st_nlink == 2 and not latents.stat().st_mode & 0o222


@pytest.mark.slow
def test_clone_pull_gives_the_same_bytes_and_nothing_to_run(sandbox, pulled):
    assert "pulled" in pulled.pull and "outputs match dvc.lock" in pulled.pull
    original, copy = digests(sandbox.origin), digests(pulled.repo)
    assert len(original) > 20 and copy == original
    extra = {p.name for p in (pulled.repo / "results").iterdir()} - {"logs", "benchmarks"}
    assert extra == {Path(o).name for outs in STAGE_OUTS.values() for o in outs}
    assert plan(sandbox, pulled.repo) == []
    assert UP_TO_DATE in dvc(sandbox, pulled.repo, "status").stdout


def stage_jobs(log: str) -> dict[str, Counter]:
    """Snakemake jobs (rule -> count) that each DVC stage ran, from `dvc repro` output."""
    jobs: dict[str, Counter] = {}
    for part in re.split(r"(?=^Running stage ')", log, flags=re.M)[1:]:
        name = re.match(r"Running stage '(\w+)'", part).group(1)
        jobs[name] = Counter(r for r, _ in planned_jobs(part) if not r.startswith("dvc_"))
    return jobs


@pytest.mark.slow
def test_changed_noise_level_reruns_only_what_it_affects(sandbox, pulled):
    repo = pulled.repo
    smoke = repo / "config/smoke.yaml"
    assert "noise-0.1," in smoke.read_text()
    smoke.write_text(smoke.read_text().replace("noise-0.1,", "noise-0.15,"))
    log = repro(sandbox, repo)
    for name in ("data", "models"):
        assert f"Stage '{name}' didn't change, skipping" in log
    jobs = stage_jobs(log)
    assert jobs == {
        "latents": Counter(extract=1),
        "analysis": Counter(kstar=4, kstar_summary=1),  # 2 layers x 2 metrics
        "report": Counter(study_tables=1, study_distributions=1, study_table_html=1, explorer=1),
    }, jobs
    extracted = [o for r, o in planned_jobs(log) if r == "extract"]
    assert extracted == ["results/latents/mlp/noise-0.15.h5"]
    assert UP_TO_DATE in dvc(sandbox, repo, "status").stdout
    assert plan(sandbox, repo) == []

    # push the new results, and pull them back into origin
    git(repo, "commit", "-q", "-m", "noise 0.15", "config/smoke.yaml", "dvc.lock")
    kstarlab_data(sandbox, repo, "push")
    git(sandbox.origin, "pull", "-q", "--ff-only", str(repo), "HEAD")
    kstarlab_data(sandbox, sandbox.origin, "pull")
    back = digests(sandbox.origin)
    assert "results/latents/mlp/noise-0.15.h5" in back
    assert back == digests(repo)
    assert plan(sandbox, sandbox.origin) == []
    assert UP_TO_DATE in dvc(sandbox, sandbox.origin, "status").stdout


def cache_object(repo: Path, data: bytes) -> Path:
    md5 = hashlib.md5(data).hexdigest()
    return repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]


@pytest.mark.slow
def test_rerun_after_checkout_replaces_the_link_not_the_cache(sandbox, pulled):
    repo = pulled.repo
    target = repo / "results/latents/mlp/clean.h5"
    target.unlink()
    dvc(sandbox, repo, "checkout")
    data = target.read_bytes()
    cached = cache_object(repo, data)
    assert target.stat().st_ino == cached.stat().st_ino and target.stat().st_nlink == 2
    assert not target.stat().st_mode & 0o222  # read-only: nothing may write through it
    env = env_for(repo, None, sandbox.site)

    # the writer itself (h5py on a temporary file, then os.replace) onto the link
    extract = ["extract", "--dataset", "digits", "--model", "results/models/mlp.pt"]
    extract += ["--transform", "noise-0.2", "--layers", "logit", "--out", str(target)]
    run(
        [tool("kstarlab"), *extract],
        cwd=repo,
        env=env,
    )
    assert target.read_bytes() != data and target.stat().st_nlink == 1
    assert cached.read_bytes() == data, "the extraction wrote through the cache link"
    dvc(sandbox, repo, "checkout", "--force")
    assert target.stat().st_ino == cached.stat().st_ino

    # a Snakemake rerun of the job that made it. Snakemake refuses to replace a read-only
    # output unless run as root (the README says: `dvc unprotect` it, or use `dvc repro`).
    if os.geteuid() != 0:
        dvc(sandbox, repo, "unprotect", "results/latents/mlp/clean.h5")
    snakemake(
        "-f",
        "results/latents/mlp/clean.h5",
        "--cores",
        "1",
        workdir=repo,
        configfile=repo / "config/smoke.yaml",
        snakefile=repo / "Snakefile",
        env=env,
    )
    assert target.stat().st_ino != cached.stat().st_ino and target.stat().st_nlink == 1
    assert hashlib.md5(cached.read_bytes()).hexdigest() == cached.parent.name + cached.name


def one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.mark.slow
def test_errors_say_what_to_run(sandbox, tmp_path):
    repo = clone(sandbox, "errors")
    missing = one_error_line(
        kstarlab_data(sandbox, repo, "pull", remote=tmp_path / "nowhere", check=False)
    )
    assert "does not exist" in missing and "kstarlab data push" in missing
    empty = tmp_path / "empty"
    empty.mkdir()
    lacking = one_error_line(kstarlab_data(sandbox, repo, "pull", remote=empty, check=False))
    assert "lacks files" in lacking and "kstarlab data push" in lacking and "dvc repro" in lacking
    unknown = one_error_line(
        kstarlab_data(sandbox, repo, "push", "-r", "nosuch", remote=None, check=False)
    )
    assert "no DVC remote named 'nosuch'" in unknown and "dvc remote add" in unknown

    dvc(sandbox, repo, "remote", "remove", "local", remote=False)
    for action in ("pull", "push"):
        none = one_error_line(kstarlab_data(sandbox, repo, action, remote=None, check=False))
        assert "no DVC remote is configured" in none and "KSTARLAB_DVC_REMOTE" in none
    # ... and the workflow runs without one (`make run` is plain Snakemake)
    assert plan(sandbox, repo)
