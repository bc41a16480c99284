"""The data rule: the digits and their split, written once for every job that reads them."""

from __future__ import annotations

from kstarlab.workflow.jobs.runtime import log


def digits_data(split_seed: int, out: str) -> None:
    """Write the digits and the split of ``split_seed`` to ``out`` (`kstarlab.latents.digits`)."""
    from kstarlab.latents.digits import write_digits

    digits = write_digits(out, split_seed)
    log.info(
        "digits %s: %d train and %d test images, split seed %d, scikit-learn %s",
        out,
        digits.train.shape[0],
        digits.test.shape[0],
        digits.split_seed,
        digits.scikit_learn,
    )
