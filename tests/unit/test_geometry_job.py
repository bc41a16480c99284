"""The workflow's geometry job: corruptions extracted in-process, equal to extract jobs."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd

from kstarlab.workflow import jobs

ENTRY = {"arch": "mlp"}  # random weights, seeded: the comparison does not need training
DATASET = {"name": "digits", "split": "test", "split_seed": 0}
EXTRACTION = {"batch_size": 256, "float16": False, "compression": "auto"}
CORRUPTIONS = ["corrupt-contrast-3", "corrupt-gaussian_noise-1"]


def _extract(transform: str, out) -> None:
    settings = {"layers": ["avgpool"], "dataset": DATASET, "extraction": EXTRACTION, "seed": 0}
    jobs.extract("mlp", ENTRY, transform, settings, str(out))


def test_geometry_job_corruptions_equal_extract_jobs(tmp_path):
    clean = tmp_path / "clean.h5"
    _extract("clean", clean)
    reference = tmp_path / "contrast.h5"
    _extract(CORRUPTIONS[1], reference)
    outputs = {k: str(tmp_path / f"{k}.out") for k in ("features", "samples", "pruning")}
    settings = {
        "layer": "avgpool",
        "corruptions": CORRUPTIONS,
        "sparsities": [0.5, 0.9],
        "model": ENTRY,
        "dataset": DATASET,
        "batch_size": 100,  # another batch size than the extract job's: same samples
        "seed": 0,
    }
    jobs.geometry_model("mlp", settings, str(clean), outputs)

    with h5py.File(reference) as ref, h5py.File(outputs["features"]) as feats:
        x = ref["latents/avgpool"][:].astype(np.float64)
        group = feats[f"corrupt/{CORRUPTIONS[1]}"]
        np.testing.assert_array_equal(group["predictions"][:], ref["predictions"][:])
        np.testing.assert_allclose(group["length"][:], np.linalg.norm(x, axis=1), rtol=1e-6)
        assert set(feats["corrupt"]) == set(CORRUPTIONS)
    samples = pd.read_csv(outputs["samples"])
    # the robustness is the share of the two corruptions whose prediction stays correct
    assert set(np.round(samples["corruption_robustness"] * 2, 9)) <= {0.0, 1.0, 2.0}
    assert list(pd.read_csv(outputs["pruning"])["sparsity"]) == [0.0, 0.5, 0.9]

    # geometry.corruption_jobs: the same numbers from extract jobs' files
    files = [tmp_path / "c0.h5", reference]
    _extract(CORRUPTIONS[0], files[0])
    again = {k: str(tmp_path / f"{k}.again") for k in outputs}
    jobs.geometry_model("mlp", settings, str(clean), again, corrupted=[str(f) for f in files])
    assert _datasets(again["features"]) == _datasets(outputs["features"])
    assert pd.read_csv(again["samples"]).equals(samples)


def _datasets(path) -> dict[str, bytes]:
    out = {}
    with h5py.File(path) as h5:
        h5.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()].tobytes()) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return out
