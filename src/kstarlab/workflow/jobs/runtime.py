"""What every job does around its work: log to its file, use its threads, and record
which kstarlab modules it loaded (the tests check them against its rule's code set)."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from kstarlab.errors import InputError

log = logging.getLogger("kstarlab")

# The log line that lists the kstarlab modules a job loaded, read by the tests.
MODULES_RECORD = "kstarlab modules loaded:"


def loaded_modules() -> list[str]:
    """The kstarlab modules this process has imported, sorted."""
    return sorted(m for m in list(sys.modules) if m == "kstarlab" or m.startswith("kstarlab."))


@contextlib.contextmanager
def job_log(path: str | None) -> Iterator[None]:
    """Send the job's logging, stdout and stderr (tracebacks included) to ``path``; at the
    end, log the kstarlab modules the job loaded.

    A failing job keeps its traceback in the log; the terminal gets one line, the error
    and the log's path, and the job exits with status 1 (Snakemake then reports the rule).
    """
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    terminal = sys.stderr
    failure: Exception | None = None
    with open(path, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
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
            log.removeHandler(handler)
            fh.flush()
    if failure is not None:
        message = " ".join(str(failure).split()) or type(failure).__name__
        if not isinstance(failure, InputError):
            message = f"{type(failure).__name__}: {message}"
        print(f"error: {message} (traceback in {path})", file=terminal)
        raise SystemExit(1)


def set_threads(threads: int) -> None:
    """Use the threads Snakemake gave the job, and no more."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
