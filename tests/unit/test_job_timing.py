"""A job's seconds split into start-up and work (the record benchmarks/pipeline_bench.sh
sums by rule), checked against sleeps of known length in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from kstarlab.workflow.jobs.runtime import TIMING_RECORD, import_clock, process_age


def test_process_age_counts_from_the_interpreters_start():
    code = "import time; time.sleep(0.4); from kstarlab.workflow.jobs.runtime import process_age;"
    code += " print(process_age())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0.4 <= float(out.stdout) < 30
    assert process_age() > 0


def test_import_clock_counts_outermost_imports_once(tmp_path, monkeypatch):
    (tmp_path / "slow_outer.py").write_text("import time\nimport slow_inner\ntime.sleep(0.2)\n")
    (tmp_path / "slow_inner.py").write_text("import time\ntime.sleep(0.2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with import_clock() as seconds:
        import slow_outer  # noqa: F401

        imported = seconds[0]
        import time

        time.sleep(0.1)
    assert 0.4 <= imported < 0.4 + 2  # inner and outer once each, not the inner twice
    assert seconds[0] - imported < 0.05  # the sleep is no import (`import time` is)


def test_job_log_records_start_up_and_work(tmp_path):
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(0.5)\n")
    log = tmp_path / "job.log"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        from kstarlab.workflow.jobs.runtime import job_log
        with job_log({str(log)!r}):
            import slow_module
            time.sleep(0.3)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    lines = [line for line in log.read_text().splitlines() if TIMING_RECORD in line]
    assert len(lines) == 1
    start_up, work = map(float, re.findall(r"start-up ([\d.]+) work ([\d.]+)", lines[0])[0])
    assert start_up >= 0.5  # the lazy import counts as start-up
    assert 0.3 <= work < 0.3 + 2


def _script_job(tmp_path, body: str, *, snakemake: bool) -> tuple[subprocess.CompletedProcess, str]:
    """Run ``body`` inside `job_log` in a fresh interpreter, as a Snakemake script job
    (``snakemake`` defined in ``__main__``) or not; an atexit hook marks a normal teardown."""
    log = tmp_path / "job.log"
    script = textwrap.dedent(
        f"""
        import atexit
        atexit.register(lambda: print("teardown ran", flush=True))
        {"snakemake = object()" if snakemake else ""}
        from kstarlab.workflow.jobs.runtime import job_log
        with job_log({str(log)!r}):
            print("work done")
        {body}
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    return done, log.read_text()


def test_a_snakemake_script_job_ends_without_the_interpreters_teardown(tmp_path):
    done, log = _script_job(tmp_path, 'print("after the job")', snakemake=True)
    assert done.returncode == 0, done.stderr
    assert "teardown ran" not in done.stdout and "after the job" not in done.stdout
    assert "work done" in log and TIMING_RECORD in log  # the log is complete


def test_other_processes_keep_their_teardown(tmp_path):
    done, log = _script_job(tmp_path, 'print("after the job")', snakemake=False)
    assert done.returncode == 0, done.stderr
    assert "after the job" in done.stdout and "teardown ran" in done.stdout
    assert "work done" in log


def test_a_failing_snakemake_script_job_still_exits_with_status_1(tmp_path):
    log = tmp_path / "job.log"
    script = textwrap.dedent(
        f"""
        snakemake = object()
        from kstarlab.workflow.jobs.runtime import job_log
        with job_log({str(log)!r}):
            raise ValueError("broken input")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "error: ValueError: broken input" in done.stderr
    assert "Traceback" in log.read_text()
