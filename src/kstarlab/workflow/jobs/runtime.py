"""What every job does around its work: log to its file, use its threads, record which
kstarlab modules it loaded (the tests check them against its rule's code set), and how
its seconds split into start-up and work (`benchmarks/pipeline_bench.sh` sums them)."""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from kstarlab.errors import InputError

log = logging.getLogger("kstarlab")

# The log line that lists the kstarlab modules a job loaded, read by the tests.
MODULES_RECORD = "kstarlab modules loaded:"
# The log line with the job's start-up and work seconds, read by benchmarks/pipeline_bench.sh.
TIMING_RECORD = "job seconds:"


def process_age() -> float:
    """Seconds since this process started (Linux's /proc; 0.0 where it cannot be read)."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


@contextlib.contextmanager
def import_clock() -> Iterator[list[float]]:
    """Time spent inside import statements while the block runs (outermost imports only,
    so nested ones count once): the yielded one-item list holds the seconds."""
    seconds = [0.0]
    original = builtins.__import__
    depth = 0

    def timed_import(*args, **kwargs):
        nonlocal depth
        if depth:
            return original(*args, **kwargs)
        depth += 1
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds[0] += time.perf_counter() - start
            depth -= 1

    builtins.__import__ = timed_import
    try:
        yield seconds
    finally:
        builtins.__import__ = original


def loaded_modules() -> list[str]:
    """The kstarlab modules this process has imported, sorted."""
    return sorted(m for m in list(sys.modules) if m == "kstarlab" or m.startswith("kstarlab."))


@contextlib.contextmanager
def job_log(path: str | None) -> Iterator[None]:
    """Send the job's logging, stdout and stderr (tracebacks included) to ``path``; at the
    end, log the kstarlab modules the job loaded and the job's seconds: start-up (the
    interpreter, Snakemake's script preamble and every import, the job's lazy ones
    included) and work (the rest).

    A failing job keeps its traceback in the log; the terminal gets one line, the error
    and the log's path, and the job exits with status 1 (Snakemake then reports the rule).
    A job that succeeds in a Snakemake script's process ends it here (`end_script`).
    """
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    terminal = sys.stderr
    failure: Exception | None = None
    started = process_age()
    entered = time.perf_counter()
    with (
        open(path, "w") as fh,
        contextlib.redirect_stdout(fh),
        contextlib.redirect_stderr(fh),
        import_clock() as importing,
    ):
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            yield
        except Exception as exc:
            traceback.print_exc(file=fh)
            failure = exc
        except BaseException:  # interrupted: logged, and Snakemake sees the interrupt
            traceback.print_exc(file=fh)
            raise
        finally:
            log.info("%s %s", MODULES_RECORD, " ".join(loaded_modules()))
            inside = time.perf_counter() - entered
            log.info(
                "%s start-up %.3f work %.3f",
                TIMING_RECORD,
                started + importing[0],
                max(0.0, inside - importing[0]),
            )
            log.removeHandler(handler)
            fh.flush()
    if failure is not None:
        message = " ".join(str(failure).split()) or type(failure).__name__
        if not isinstance(failure, InputError):
            message = f"{type(failure).__name__}: {message}"
        print(f"error: {message} (traceback in {path})", file=terminal)
        raise SystemExit(1)
    if in_snakemake_script():
        end_script()


def in_snakemake_script() -> bool:
    """True in the process of a Snakemake ``script:`` job: its preamble defines the global
    ``snakemake`` in ``__main__`` (the job's script), which nothing else here does."""
    return hasattr(sys.modules.get("__main__"), "snakemake")


def end_script() -> None:
    """End a finished job's process at once, skipping the interpreter's teardown.

    With torch and torchvision loaded, tearing the interpreter down (freeing every module)
    takes about 1.2 s, as long as a k* job's work many times over, and it happens in each
    of the default run's 200-odd jobs. By now the job's outputs are closed and in place
    (written to a temporary file, then renamed) and its log is closed; what is left is
    flushed here, and the exit status is 0 as after a normal end.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def set_threads(threads: int) -> None:
    """Use the threads Snakemake gave the job, and no more."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
