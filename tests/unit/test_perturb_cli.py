"""``kstarlab perturb``: previews, and every error as one line with exit status 2."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from kstarlab.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["perturb", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "transform", ["noise-0.1", "rot-30", "crop-20", "style-fda-flower", "corrupt-fog-3", "clean"]
)
def test_preview_writes_a_grid(tmp_path, capsys, transform):
    out = tmp_path / "sub" / f"{transform}.png"
    code, stdout, err = run_cli(capsys, "--transform", transform, "--preview", str(out), "--n", "4")
    assert code == 0, err
    assert stdout.startswith(f"{transform}: wrote {out} (4 digits images, seed 0)")
    with Image.open(out) as image:
        assert image.width > 1.5 * image.height  # four columns, two rows
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary files left


def test_preview_is_reproducible(tmp_path, capsys):
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        assert (
            run_cli(capsys, "--transform", "noise-0.2", "--preview", str(path), "--seed", "4")[0]
            == 0
        )
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_pgd_preview_with_a_model(tmp_path, capsys):
    out = tmp_path / "pgd.png"
    code, stdout, err = run_cli(
        capsys,
        "--transform",
        "pgd-8",
        "--preview",
        str(out),
        "--n",
        "3",
        "--model",
        "mlp",
        "--pgd-steps",
        "2",
    )
    assert code == 0, err
    assert "attack success rate" in stdout and "accuracy" in stdout
    assert out.is_file()


def test_adain_preview_through_the_cli(tmp_path, capsys):
    from kstarlab.perturb.style import adain_decoder, vgg_normalised

    torch.save(vgg_normalised().state_dict(), tmp_path / "vgg_normalised.pth")
    torch.save(adain_decoder().state_dict(), tmp_path / "decoder.pth")
    styles = tmp_path / "styles"
    styles.mkdir()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(styles / "red.png")
    config = tmp_path / "config.yaml"
    config.write_text(
        "perturb:\n"
        f"  adain_encoder: {tmp_path / 'vgg_normalised.pth'}\n"
        f"  adain_decoder: {tmp_path / 'decoder.pth'}\n"
        f"  adain_styles: {styles}\n"
    )
    out = tmp_path / "adain.png"
    args = ["--transform", "style-adain-0.5", "--preview", str(out), "--n", "2"]
    code, _, err = run_cli(capsys, *args, "--config", str(config))
    assert code == 0, err
    assert out.is_file()
    # a missing weight file given on the command line wins over the config
    code, _, err = run_cli(
        capsys, *args, "--config", str(config), "--adain-decoder", str(tmp_path / "nope.pth")
    )
    assert code == 2 and err == f"error: AdaIN decoder weights not found: {tmp_path / 'nope.pth'}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--transform", "blur-3"],
            "error: unknown transform 'blur-3'; available: clean, crop-<s>",
        ),
        (["--transform", "noise-abc"], "error: malformed transform 'noise-abc': sigma 'abc'"),
        (["--transform", "noise--0.1"], "error: transform 'noise--0.1': sigma must be ≥ 0"),
        (["--transform", "pgd-0"], "error: transform 'pgd-0': eps must be > 0, got 0"),
        (["--transform", "pgd--4"], "error: transform 'pgd--4': eps must be > 0"),
        (["--transform", "crop-40"], "error: transform crop-40: crop size 40 is larger than"),
        (["--transform", "corrupt-blurry-2"], "error: transform 'corrupt-blurry-2': unknown"),
        (["--transform", "corrupt-fog-6"], "error: transform 'corrupt-fog-6': severity must be"),
        (["--transform", "pgd-8"], "error: transform pgd-8 needs --model"),
        (["--transform", "style-adain"], "error: style-adain needs adain_encoder"),
        (
            [
                *("--transform", "style-adain", "--adain-encoder", "/no/vgg_normalised.pth"),
                *("--adain-decoder", "/no/decoder.pth", "--adain-styles", "/no/styles"),
            ],
            "error: AdaIN encoder weights not found: /no/vgg_normalised.pth",
        ),
        (["--transform", "noise-0.1", "--n", "0"], "error: --n must be at least 1"),
        (["--transform", "noise-0.1", "--pgd-steps", "0"], "error: options: pgd_steps must be"),
        (["--transform", "noise-0.1", "--dataset", "mnist"], "error: unknown dataset 'mnist'"),
        (["--transform", "noise-0.1", "--config", "/no/config.yaml"], "error: config file not"),
        (["--transform", "pgd-8", "--model", "nosuchnet"], "error: unknown model 'nosuchnet'"),
    ],
)
def test_cli_errors(tmp_path, capsys, args, message):
    out = tmp_path / "preview.png"
    code, _, err = run_cli(capsys, *args, "--preview", str(out))
    assert code == 2
    assert err.startswith(message), err
    assert err.count("\n") == 1
    assert not out.exists()


def test_cli_rejects_a_bad_preview_suffix(tmp_path, capsys):
    code, _, err = run_cli(capsys, "--transform", "clean", "--preview", str(tmp_path / "x.gif"))
    assert code == 2 and err.startswith("error: preview") and "must end in .png" in err


def test_cli_rejects_unknown_config_settings(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("perturb:\n  steps: 3\n")
    code, _, err = run_cli(
        capsys,
        "--transform",
        "clean",
        "--preview",
        str(tmp_path / "x.png"),
        "--config",
        str(config),
    )
    assert code == 2 and "unknown perturbation setting 'steps'" in err


def test_preview_transform_measures_the_model(tmp_path):
    """The library function behind the command: its accuracies are the model's on the
    first n clean and perturbed test images, computed here independently."""
    from kstarlab.latents.datasets import load_digits
    from kstarlab.models import load_model
    from kstarlab.perturb import apply_transform
    from kstarlab.perturb.preview import preview_transform

    n = 30
    result = preview_transform("noise-0.4", tmp_path / "p.png", n=n, seed=2, model="mlp")
    assert result.path.is_file() and result.n == n and result.dataset == "digits"
    assert result.transform == "noise-0.4" and result.attack_success_rate is None
    data = load_digits("test")
    images = torch.stack([data.dataset[i][0] for i in range(n)])
    labels = torch.from_numpy(data.labels[:n])
    noisy, _ = apply_transform(images, "noise-0.4", seed=2, indices=range(n))
    net = load_model("mlp").module
    with torch.no_grad():
        for batch, accuracy in ((images, result.clean_accuracy), (noisy, result.accuracy)):
            assert accuracy == float((net(batch).argmax(dim=1) == labels).float().mean())
    plain = preview_transform("noise-0.4", tmp_path / "q.png", n=n, seed=2)
    assert plain.clean_accuracy is None and plain.accuracy is None
