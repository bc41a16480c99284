"""The pruning approaches (issue 14): sparsity, masks, schedules, rewinding, multi-prize
tickets, determinism, validation, and on the digits ResNet, what fine-tuning recovers."""

from __future__ import annotations

import io
import itertools
import math
import time

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kstarlab.pruning.approaches as approaches
from kstarlab.errors import InputError
from kstarlab.geometry import global_magnitude_prune as geometry_prune
from kstarlab.latents.digits import write_digits
from kstarlab.models.registry import ZOO_PREPROCESSING, Classifier
from kstarlab.models.training import TrainConfig, deterministic, fit, train_zoo
from kstarlab.models.zoo import build_zoo_model
from kstarlab.names import APPROACHES
from kstarlab.pruning import PruneSettings, global_magnitude_prune, prune_model
from kstarlab.pruning.masks import global_masks, layer_masks, prunable_layers, weight_sparsity
from kstarlab.pruning.schedules import cubic_sparsity, lottery_sparsities
from kstarlab.pruning.scores import attach_scores, scores_of, signed_constant_

#: Short trainings of the small MLP: every approach in about a second.
FAST = PruneSettings(
    dense_epochs=2,
    finetune_epochs=1,
    train_epochs=1,
    lottery_epochs=1,
    lottery_rounds=2,
    rewind_steps=3,
    mpt_epochs=1,
    gradual_interval=2,
)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    write_digits(path)
    return path


@pytest.fixture(scope="module")
def dense_mlp(digits):
    return train_zoo(TrainConfig("mlp", epochs=2), prepared=digits).net


@pytest.fixture(scope="module")
def pruned(digits, dense_mlp):
    """Every approach on the MLP at s = 0.8."""
    return {
        a: prune_model(a, "mlp", 0.8, settings=FAST, seed=0, dense=dense_mlp, prepared=digits)
        for a in APPROACHES
    }


def counts(net):
    layers = prunable_layers(net)
    zeros = sum(int((m.weight == 0).sum()) for m in layers.values())
    return zeros, sum(m.weight.numel() for m in layers.values()), len(layers)


@pytest.mark.parametrize("approach", APPROACHES)
def test_measured_sparsity_is_the_target_up_to_one_weight_per_layer(pruned, approach):
    result = pruned[approach]
    zeros, total, layers = counts(result.model)
    assert abs(zeros - 0.8 * total) <= layers
    assert result.metadata["measured_sparsity"] == zeros / total
    for name, module in prunable_layers(result.model).items():
        assert not module.weight[~result.masks[name]].any()  # pruned weights are zero
    meta = result.metadata
    assert (meta["approach"], meta["sparsity"], meta["arch"], meta["seed"]) == (
        approach,
        0.8,
        "mlp",
        0,
    )
    assert 0.0 <= meta["clean_accuracy"] <= 1.0 and meta["train_seconds"] > 0


def test_trained_approaches_learn_the_digits(pruned):
    for approach in ("finetune", "gradual", "lottery", "snip", "random", "mpt"):
        assert pruned[approach].metadata["clean_accuracy"] > 0.5, approach


def test_global_magnitude_prune_matches_a_sorting_oracle(dense_mlp):
    pruned = global_magnitude_prune(dense_mlp, 0.7)
    weights = torch.cat(
        [m.weight.detach().abs().flatten() for m in prunable_layers(dense_mlp).values()]
    )
    k = round(0.7 * weights.numel())
    threshold = weights.sort().values[k - 1]
    for name, m in prunable_layers(pruned).items():
        dense_weight = prunable_layers(dense_mlp)[name].weight.detach()
        expected = torch.where(dense_weight.abs() <= threshold, 0.0, dense_weight)
        assert torch.equal(m.weight.detach(), expected)
    assert geometry_prune is global_magnitude_prune  # one home, re-exported by geometry


@given(
    shapes=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    sparsity=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**16),
)
def test_masks_keep_the_largest_scores(shapes, sparsity, seed):
    generator = torch.Generator().manual_seed(seed)
    scores = {f"l{i}": torch.randn(n, 3, generator=generator) for i, n in enumerate(shapes)}
    flat = torch.cat([s.abs().flatten() for s in scores.values()])
    drop = round(sparsity * flat.numel())
    masks = global_masks(scores, sparsity)
    assert sum(int((~m).sum()) for m in masks.values()) == drop
    kept = torch.cat([s.abs()[m] for s, m in zip(scores.values(), masks.values(), strict=True)])
    dropped = torch.cat([s.abs()[~m] for s, m in zip(scores.values(), masks.values(), strict=True)])
    if kept.numel() and dropped.numel():
        assert dropped.max() <= kept.min()
    for name, mask in layer_masks(scores, sparsity).items():
        assert int((~mask).sum()) == round(sparsity * mask.numel())
        if mask.any() and (~mask).any():
            assert scores[name].abs()[~mask].max() <= scores[name].abs()[mask].min()


def test_masks_of_channels_last_weights_equal_the_contiguous_ones():
    """The pruned models train channels-last (`fit`): their conv scores are not viewable
    as flat vectors, and the global prune must give the same masks as for contiguous ones."""
    generator = torch.Generator().manual_seed(3)
    scores = {"conv": torch.randn(8, 3, 3, 3, generator=generator), "fc": torch.randn(10, 8)}
    last = {"conv": scores["conv"].to(memory_format=torch.channels_last), "fc": scores["fc"]}
    assert not last["conv"].is_contiguous()
    expected = global_masks(scores, 0.6)
    for name, mask in global_masks(last, 0.6).items():
        assert torch.equal(mask, expected[name])


def test_masks_stay_fixed_during_fine_tuning(digits, dense_mlp, monkeypatch):
    """After every optimizer step of fine-tuning, every pruned weight is exactly zero."""
    checked = []
    masks_seen = {}

    def spying_fit(model, *args, after_step=None, **kwargs):
        def after(step):
            after_step(step)
            for name, m in prunable_layers(model.net).items():
                assert not m.weight[~masks_seen[name]].any()
            checked.append(step)

        return fit(model, *args, after_step=after, **kwargs)

    real_oneshot = approaches._oneshot

    def oneshot(run, dense):
        net, masks, snaps = real_oneshot(run, dense)
        masks_seen.update(masks)
        return net, masks, snaps

    monkeypatch.setattr(approaches, "fit", spying_fit)
    monkeypatch.setattr(approaches, "_oneshot", oneshot)
    result = prune_model("finetune", "mlp", 0.9, settings=FAST, dense=dense_mlp, prepared=digits)
    assert len(checked) == math.ceil(result.metadata["n_train"] / FAST.batch_size)
    oneshot_masks = global_magnitude_prune(dense_mlp, 0.9)
    for name, m in prunable_layers(oneshot_masks).items():
        assert torch.equal(result.masks[name], m.weight != 0)


def test_gradual_sparsity_follows_the_cubic_schedule(digits, monkeypatch):
    """The measured sparsity after each step is round(s_t · N) / N with Zhu & Gupta's s_t."""
    measured = []

    def spying_fit(model, *args, after_step=None, **kwargs):
        def after(step):
            after_step(step)
            measured.append((step, weight_sparsity(model.net)))

        return fit(model, *args, after_step=after, **kwargs)

    monkeypatch.setattr(approaches, "fit", spying_fit)
    settings = PruneSettings(train_epochs=2, gradual_start=0.1, gradual_end=0.7, gradual_interval=3)
    result = prune_model("gradual", "mlp", 0.9, settings=settings, prepared=digits)
    _, total, _ = counts(result.model)
    steps = len(measured)
    t0, end = round(0.1 * steps), round(0.7 * steps)
    n = (end - t0) // 3
    for step, sparsity in measured:
        if step < t0:
            expected = 0.0
        else:
            last = t0 + min(n, (step - t0) // 3) * 3
            expected = 0.9 * (1 - (1 - (last - t0) / (n * 3)) ** 3)  # s_f + (0 − s_f)(…)³
        assert sparsity == pytest.approx(round(expected * total) / total, abs=1.5 / total), step
    assert measured[-1][1] == pytest.approx(0.9, abs=1 / total)


@given(
    step=st.integers(0, 500),
    start=st.integers(0, 100),
    count=st.integers(1, 30),
    interval=st.integers(1, 10),
    final=st.floats(0, 0.99),
)
def test_cubic_sparsity_is_zhu_and_gupta_at_the_pruning_steps(step, start, count, interval, final):
    kwargs = {"final": final, "initial": 0.1 * final, "start": start, "count": count}
    value = cubic_sparsity(step, interval=interval, **kwargs)
    if step < start:
        assert value == 0.1 * final
    elif step >= start + count * interval:
        assert value == pytest.approx(final)
    elif (step - start) % interval == 0:
        s_i, t = 0.1 * final, step
        assert value == pytest.approx(
            final + (s_i - final) * (1 - (t - start) / (count * interval)) ** 3
        )


def test_lottery_rounds_prune_equal_shares_and_end_at_the_target():
    levels = lottery_sparsities(0.9, 3)
    assert levels[-1] == 0.9
    remaining = [1.0, *(1 - s for s in levels)]
    shares = [b / a for a, b in itertools.pairwise(remaining)]
    assert shares == pytest.approx([0.1 ** (1 / 3)] * 3)


def test_lottery_rewinds_to_the_stored_early_weights_exactly(digits, pruned):
    result = pruned["lottery"]
    early, rewound = result.snapshots["early"], result.snapshots["rewound"]
    # The stored early weights are the state after rewind_steps steps of the first training.
    with deterministic(0, 1):
        net = build_zoo_model("mlp")
        state = {}

        class Stop(Exception):
            pass

        def stop_at(step):
            if step == FAST.rewind_steps:
                state.update({k: v.clone() for k, v in net.state_dict().items()})
                raise Stop

        from kstarlab.latents.datasets import load_digits

        train = load_digits("train", prepared=digits)
        with pytest.raises(Stop):
            fit(
                Classifier(net, ZOO_PREPROCESSING.mean, ZOO_PREPROCESSING.std),
                train.dataset.images,
                torch.from_numpy(train.labels),
                epochs=FAST.lottery_epochs,
                lr=1e-3,
                weight_decay=FAST.weight_decay,
                batch_size=FAST.batch_size,
                seed=0,
                after_step=stop_at,
            )
    assert state.keys() == early.keys()
    assert all(torch.equal(state[k], early[k]) for k in state)
    # After the last round's rewind: surviving weights are the early ones, pruned ones zero.
    layers = {f"{name}.weight": name for name in result.masks}
    for key, value in rewound.items():
        if key in layers:
            mask = result.masks[layers[key]]
            assert torch.equal(value[mask], early[key][mask])
            assert not value[~mask].any()
        else:
            assert torch.equal(value, early[key])
    assert not torch.equal(result.model.fc1.weight, rewound["fc1.weight"])  # then retrained


def test_mpt_keeps_its_initial_weights_exactly(pruned):
    result = pruned["mpt"]
    init = result.snapshots["init"]
    for name, module in prunable_layers(result.model).items():
        mask = result.masks[name]
        assert torch.equal(module.weight[mask], init[name][mask])
        fan_in = init[name][0].numel()
        magnitude = math.sqrt(2.0) / math.sqrt(fan_in * (1 - 0.8))
        assert torch.allclose(init[name].abs(), torch.full_like(init[name], magnitude))
        assert int((~mask).sum()) == round(0.8 * mask.numel())  # per-layer top (1 − s)
        if module.bias is not None:
            assert not module.bias.any()


def test_changing_only_mpt_scores_changes_predictions(digits):
    from kstarlab.latents.datasets import load_digits

    images = load_digits("test", prepared=digits).dataset.images[:200]
    with deterministic(0, 1):
        net = build_zoo_model("mlp")
        signed_constant_(net, 0.5)
        attach_scores(net, 0.5)
    model = Classifier(net, ZOO_PREPROCESSING.mean, ZOO_PREPROCESSING.std).eval()
    frozen = {k: v.clone() for k, v in net.state_dict().items() if "scores" not in k}
    with torch.no_grad():
        before = model(images).argmax(1)
        for scores in scores_of(net).values():
            scores.copy_(torch.randn(scores.shape, generator=torch.Generator().manual_seed(1)))
        after = model(images).argmax(1)
    assert (before != after).float().mean() > 0.05
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in frozen.items())


@pytest.mark.parametrize("approach", ["finetune", "lottery", "mpt", "snip", "random", "gradual"])
def test_same_seed_same_bytes(digits, dense_mlp, approach):
    def run(seed):
        result = prune_model(
            approach, "mlp", 0.8, settings=FAST, seed=seed, dense=dense_mlp, prepared=digits
        )
        buffer = io.BytesIO()
        torch.save(result.model.state_dict(), buffer)
        return buffer.getvalue()

    first = run(0)
    assert run(0) == first
    if approach != "finetune":  # finetune's batch order is its only seeded draw
        assert run(1) != first


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"approach": "prune"}, "unknown pruning approach 'prune'; available: oneshot, finetune"),
        ({"sparsity": 1.0}, "sparsity must lie in [0, 1), got 1.0"),
        ({"sparsity": -0.1}, "sparsity must lie in [0, 1), got -0.1"),
        ({"arch": "vgg"}, "unknown zoo arch 'vgg'; available: resnet, vit, mlp"),
        ({"settings": PruneSettings(train_epochs=0)}, "train_epochs must be a positive integer"),
        ({"settings": PruneSettings(rewind_steps=-1)}, "rewind_steps must be at least 0"),
        ({"settings": PruneSettings(gradual_end=0.0)}, "gradual ramp must satisfy"),
        ({"settings": PruneSettings(mpt_lr=0)}, "mpt_lr must be a positive number"),
    ],
)
def test_bad_inputs_are_one_line_errors(kwargs, message):
    arguments = {"approach": "snip", "arch": "mlp", "sparsity": 0.5, **kwargs}
    with pytest.raises(InputError) as error:
        prune_model(
            arguments.pop("approach"),
            arguments.pop("arch"),
            arguments.pop("sparsity"),
            **arguments,
        )
    assert message in str(error.value) and "\n" not in str(error.value)
    if "approach" in message:
        assert str(error.value).endswith(", ".join(APPROACHES))


def test_finetune_recovers_what_oneshot_loses_on_the_digits_resnet(digits):
    """The paper's setting in small: the digits ResNet at s = 0.9 (1 thread)."""
    start = time.perf_counter()
    dense = train_zoo(TrainConfig("resnet", epochs=3), prepared=digits)
    dense_seconds = time.perf_counter() - start
    settings = PruneSettings()
    results = {
        a: prune_model(a, "resnet", 0.9, settings=settings, dense=dense, prepared=digits)
        for a in ("oneshot", "finetune", "random")
    }
    accuracy = {a: r.metadata["clean_accuracy"] for a, r in results.items()}
    seconds = {a: round(r.metadata["train_seconds"], 1) for a, r in results.items()}
    print(
        f"dense {dense_seconds:.1f} s, {dense.metadata['test_accuracy']:.3f}; {accuracy}, {seconds}"
    )
    assert dense.metadata["test_accuracy"] > 0.95
    assert accuracy["finetune"] >= accuracy["oneshot"] + 0.2, accuracy
    assert accuracy["finetune"] > 0.9, accuracy
    assert accuracy["random"] < accuracy["finetune"], accuracy
