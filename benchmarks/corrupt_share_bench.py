"""Seconds the default run's geometry corruptions cost, batched against the package's per-image calls.

The measurement behind removing kstarlab.perturb.corrupt_batched (docs/benchmarks.md); it needs
that module, so it runs at the commit that adds this file (git show that commit).
"""

import time

import torch

from kstarlab.data import load_digits
from kstarlab.perturb.core import sample_seeds
from kstarlab.perturb.corrupt import corrupt

torch.set_num_threads(1)
data = load_digits("test")
images = torch.stack([data.dataset[i][0] for i in range(len(data.dataset))])
names = [
    "gaussian_noise",
    "impulse_noise",
    "speckle_noise",
    "defocus_blur",
    "frost",
    "contrast",
    "pixelate",
    "jpeg_compression",
]
total = {True: 0.0, False: 0.0}
for sev in (2, 4):
    for name in names:
        seeds = sample_seeds(0, f"corrupt-{name}-{sev}", torch.arange(len(images)))
        for batched in (True, False):
            corrupt(images[:8], name, sev, seeds, batched=batched)  # warm
            t = time.perf_counter()
            out = corrupt(images, name, sev, seeds, batched=batched)
            total[batched] += time.perf_counter() - t
print(
    f"{len(images)} images, 8 corruptions x 2 severities, one model: batched {total[True]:.2f} s, package {total[False]:.2f} s, saving {total[False] - total[True]:.2f} s"
)
print(f"x 3 geometry models: saving {3 * (total[False] - total[True]):.2f} s")
