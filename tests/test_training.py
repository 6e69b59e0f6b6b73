"""Training with torch: the losses, the torch head against the OpenVINO IR, export, resume, CLI.

Skipped when torch is not installed (it belongs to scripts/requirements-train.txt and
tests/requirements.txt). The IRs are small netvlad-lite graphs built in code on the committed
backbone; every comparison with OpenVINO uses the f32 hint.
"""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import openvino as ov
import pytest

from place_recognition.core.ir_files import save_ir
from place_recognition.core.model import EmbeddingModel, rt_value
from place_recognition.nets.lite import (
    BACKBONE_PATH,
    NetVladParams,
    build_lite_model,
    local_features_model,
    read_backbone,
)
from place_recognition.scenes.street import render_place, render_view

from conftest import F32, ROOT, scene

torch = pytest.importorskip("torch")

from place_recognition.cli import train_netvlad as train_cli  # noqa: E402
from place_recognition.training.data import TrainingSet, ValidationSet  # noqa: E402
from place_recognition.training.head import NetVladHead  # noqa: E402
from place_recognition.training.ir_head import export_trained, read_head  # noqa: E402
from place_recognition.training.loop import Trainer, TrainSettings  # noqa: E402
from place_recognition.training.loss import batch_hard_triplet_loss, ranking_loss  # noqa: E402

SIZE = (64, 96)  # stride-16 tap: 4x6 locations
TAP, CHANNELS = "s16", 112


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


# --- losses ---------------------------------------------------------------------------------
def test_ranking_loss_uses_the_best_positive_and_sums_over_negatives():
    query = t([[1.0, 0.0]])
    # squared distances to the query: positives 2 and 0.02, negatives 0.05, 2 and a masked 0
    positives = t([[[0.0, 1.0], [0.9, 0.1], [9.0, 9.0]]])
    negatives = t([[[1.0, 0.22360679], [-1.0, 0.0], [1.0, 0.0]]])
    pos_mask = torch.tensor([[True, True, False]])
    neg_mask = torch.tensor([[True, True, False]])
    loss = ranking_loss(query, positives, pos_mask, negatives, neg_mask, margin=0.1)
    # best positive d = 0.02; hinge(0.1 + 0.02 - 0.05) = 0.07, hinge(0.1 + 0.02 - 4) = 0
    assert loss.item() == pytest.approx(0.07, abs=1e-6)
    positives.requires_grad_(True)
    ranking_loss(query, positives, pos_mask, negatives, neg_mask, 0.1).backward()
    moved = positives.grad.abs().sum(dim=-1)[0]
    assert moved[1] > 0 and moved[0] == 0 and moved[2] == 0  # only the best positive learns


def test_ranking_loss_averages_over_queries_and_needs_a_positive():
    query = t([[1.0, 0.0], [0.0, 1.0]])
    positives = t([[[1.0, 0.0]], [[0.0, 1.0]]])
    negatives = t([[[1.0, 0.0]], [[0.0, -1.0]]])  # d = 0 (hinge 0.1) and d = 4 (hinge 0)
    mask = torch.ones((2, 1), dtype=torch.bool)
    assert ranking_loss(query, positives, mask, negatives, mask, 0.1).item() == pytest.approx(0.05)
    with pytest.raises(ValueError, match="at least one potential positive"):
        ranking_loss(query, positives, ~mask, negatives, mask, 0.1)


def test_batch_hard_triplet_loss_by_hand():
    # places 0, 0, 1 on a line: anchor 0's hardest positive d = 1, hardest negative d = 4 ...
    descriptors = t([[0.0], [1.0], [2.0]])
    labels = torch.tensor([0, 0, 1])
    # a0: h(0.5 + 1 - 4) = 0; a1: h(0.5 + 1 - 1) = 0.5; a2 has no positive: left out
    loss = batch_hard_triplet_loss(descriptors, labels, margin=0.5)
    assert loss.item() == pytest.approx(0.25)
    assert batch_hard_triplet_loss(descriptors, torch.tensor([0, 1, 2]), 0.5).item() == 0.0


# --- the head against the IR ----------------------------------------------------------------
def random_params(clusters: int = 4, dim: int = 8, seed: int = 0) -> NetVladParams:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((clusters, CHANNELS)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    whitening = rng.standard_normal((dim, CHANNELS * clusters)).astype(np.float32)
    bias = rng.standard_normal(dim).astype(np.float32) * 0.1
    return NetVladParams(TAP, centers, 7.5, whitening, bias, {"vocabulary": "random"})


@pytest.fixture(scope="module")
def lite_ir(tmp_path_factory) -> ov.Model:
    """A small netvlad-lite IR, saved with FP16 weights like the shipped one."""
    backbone = read_backbone(ROOT / BACKBONE_PATH)
    path = tmp_path_factory.mktemp("lite") / "lite.xml"
    return save_ir(build_lite_model(backbone, random_params(), SIZE), path, fp16=True)


def local_features(lite_path, tmp_path, images) -> np.ndarray:
    local = save_ir(local_features_model(ov.Core().read_model(lite_path)), tmp_path / "local.xml")
    model = EmbeddingModel(local, precision=F32)
    return np.stack([model.embed(i).reshape(-1, CHANNELS) for i in images])


def test_torch_head_reproduces_the_ir_before_training(lite_ir, tmp_path):
    params = read_head(ov.Core().read_model(lite_ir))
    original = random_params()
    # FP16 weights: the read head is the stored one, within FP16 rounding of what was built.
    np.testing.assert_allclose(params.centers, original.centers, atol=2e-3)
    np.testing.assert_allclose(params.whitening, original.whitening, rtol=2e-3, atol=2e-3)
    expected_w, expected_b = original.soft_assignment()
    np.testing.assert_allclose(params.assignment, expected_w, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(params.assignment_bias, expected_b, rtol=2e-3, atol=2e-3)
    images = [scene(seed, 90, 130) for seed in range(4)]
    features = local_features(lite_ir, tmp_path, images)
    with torch.no_grad():
        got = NetVladHead(params)(torch.from_numpy(features)).numpy()
    ir = EmbeddingModel(lite_ir, precision=F32)
    np.testing.assert_allclose(got, np.stack([ir.embed(i) for i in images]), atol=1e-4)


def test_export_round_trip_gives_the_torch_heads_descriptors(lite_ir, tmp_path):
    head = NetVladHead(read_head(ov.Core().read_model(lite_ir)))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a "trained" head: every parameter moved, the assignment decoupled
        for p in head.parameters():
            p.add_(0.3 * p.abs().mean() * torch.randn(p.shape, generator=generator))
    path = export_trained(
        lite_ir, head.to_params({"trained_on": "test"}), tmp_path / "t.xml", False
    )
    images = [scene(seed, 80, 100) for seed in range(10, 13)]
    with torch.no_grad():
        expected = head(torch.from_numpy(local_features(lite_ir, tmp_path, images))).numpy()
    exported = EmbeddingModel(path, precision=F32)
    assert (
        exported.dim == 8
        and exported.input.size == SIZE
        and exported.name == "netvlad-lite-trained"
    )
    np.testing.assert_allclose(np.stack([exported.embed(i) for i in images]), expected, atol=1e-4)
    model = ov.Core().read_model(path)
    assert rt_value(model, "trained_on") == "test" and rt_value(model, "tap") == TAP
    again = read_head(model)  # and it can be trained further
    np.testing.assert_allclose(again.whitening, head.whitening.detach().numpy(), atol=1e-6)


# --- the loop: determinism, resume, early stop --------------------------------------------------
def toy_sets(seed: int = 0) -> tuple[NetVladParams, TrainingSet, ValidationSet]:
    """Places = random local-feature prototypes; an image = its place's prototype + noise."""
    rng = np.random.default_rng(seed)
    n, channels, places = 6, 8, 24
    prototypes = rng.standard_normal((places, n, channels))

    def images(noise: float, which: np.ndarray) -> np.ndarray:
        x = prototypes[which] + noise * rng.standard_normal((len(which), n, channels))
        return (x / np.linalg.norm(x, axis=2, keepdims=True)).astype(np.float32)

    train_places, val_places = np.arange(16), np.arange(16, 24)
    train = TrainingSet(
        images(0.9, train_places),
        images(0.9, train_places),
        [np.array([i]) for i in range(16)],
        [np.array([i]) for i in range(16)],
        np.concatenate([train_places, train_places]),
    )
    val = ValidationSet(
        images(0.9, val_places), images(0.9, val_places), [np.array([i]) for i in range(8)]
    )
    centers = rng.standard_normal((3, channels)).astype(np.float32)
    params = NetVladParams(
        "toy",
        centers / np.linalg.norm(centers, axis=1, keepdims=True),
        5.0,
        rng.standard_normal((8, channels * 3)).astype(np.float32) * 0.3,
        np.zeros(8, np.float32),
    )
    return params, train, val


SETTINGS = TrainSettings(epochs=3, batch=4, lr=3e-3, negatives=3, refresh_every=2, patience=5)


def trained(tmp_path, settings=SETTINGS, resume=False, params_sets=None):
    params, train, val = params_sets or toy_sets()
    head = NetVladHead(params)
    trainer = Trainer(head, train, val, settings, tmp_path / "ckpt.pt", {"data": "toy"})
    return head, trainer.run(resume=resume)


def test_training_is_deterministic_and_lowers_the_loss(tmp_path):
    head_a, result_a = trained(tmp_path / "a")
    head_b, _ = trained(tmp_path / "b")
    for a, b in zip(head_a.parameters(), head_b.parameters(), strict=True):
        assert torch.equal(a, b)
    losses = [h["loss"] for h in result_a.history[1:]]
    assert len(result_a.history) == 4 and losses[-1] < losses[0]
    assert (tmp_path / "a" / "ckpt.pt").is_file()


def test_resume_continues_to_the_same_result(tmp_path):
    straight, result = trained(tmp_path / "straight")
    trained(tmp_path / "split", replace(SETTINGS, epochs=1))  # "interrupted" after epoch 1
    resumed, resumed_result = trained(tmp_path / "split", resume=True)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert resumed_result.history == result.history
    with pytest.raises(Exception, match=r"other settings \(lr: 0.003 vs 0.01\)"):
        trained(tmp_path / "split", replace(SETTINGS, lr=1e-2), resume=True)


def test_triplet_loss_trains_and_early_stop_keeps_the_best_head(tmp_path):
    settings = replace(SETTINGS, loss="triplet", epochs=6, patience=1, lr=1e-6)
    head, result = trained(tmp_path, settings)
    recalls = [h["recall"][1] for h in result.history]
    assert result.best_recall[1] == max(recalls)
    assert result.stopped_early == (len(result.history) < 7)
    assert set(result.best_state) == {n for n, _ in head.named_parameters()}


# --- the command end to end ----------------------------------------------------------------
def write_route(root, places: int = 24):
    """A labelled route in the ground_truth.csv format; the file number is the route position."""
    for folder in ("ref", "query"):
        (root / folder).mkdir(parents=True)
    rows = ["query,positives"]
    for p in range(places):
        panorama = render_place(p)
        name = f"frame-{10 * p:04d}.png"
        cv2.imwrite(str(root / "ref" / name), render_view(panorama, p * 100, (72, 108)))
        cv2.imwrite(str(root / "query" / name), render_view(panorama, p * 100 + 1, (72, 108)))
        refs = ";".join(
            f"ref/frame-{10 * r:04d}.png" for r in range(max(0, p - 1), min(places, p + 2))
        )
        rows.append(f"query/{name},{refs}")
    (root / "ground_truth.csv").write_text("\n".join(rows) + "\n")
    return root


def test_command_trains_exports_and_the_ir_serves_the_other_commands(lite_ir, tmp_path, capsys):
    from place_recognition.cli import build_index

    data = write_route(tmp_path / "route")
    out = tmp_path / "out"
    argv = [
        "--dataset",
        str(data),
        "-m",
        str(lite_ir),
        "-o",
        str(out),
        "--position-from-name",
        "--pos-radius",
        "15",
        "--neg-radius",
        "30",
        "--val-fraction",
        "0.25",
        "--epochs",
        "2",
        "--batch",
        "4",
        "--fp32",
        "--features-cache",
        str(tmp_path / "cache"),
        "-q",
    ]
    assert train_cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "validation R@1 / R@5 (OpenVINO, f32): before" in printed
    report = json.loads((out / "report.json").read_text())
    assert [h["epoch"] for h in report["history"]] == [0, 1, 2]
    assert set(report["validation_openvino"]) == {"before", "after"}
    trained_ir = out / "netvlad-lite-trained.xml"
    # the torch head's best validation recall is what the exported IR measures through OpenVINO
    best = report["history"][report["best_epoch"]]["recall"]
    assert report["validation_openvino"]["after"] == pytest.approx(best, abs=1e-9)
    assert len(list((tmp_path / "cache").rglob("local-*.npy"))) == 2
    info = ov.Core().read_model(trained_ir)
    assert rt_value(info, "vocabulary") == "random, fine-tuned on route"
    assert float(rt_value(info, "threshold")) == pytest.approx(report["unknown_place_threshold"])
    index = tmp_path / "index"
    assert (
        build_index.main(["-m", str(trained_ir), "-gf", str(data / "ref"), "-o", str(index), "-q"])
        == 0
    )
    assert (index / "manifest.json").is_file()


def test_command_refuses_a_model_that_is_not_netvlad_lite(tiny_ir, tmp_path, capsys):
    data = write_route(tmp_path / "route", places=8)
    code = train_cli.main(
        [
            "--dataset",
            str(data),
            "-m",
            str(tiny_ir),
            "--position-from-name",
            "-o",
            str(tmp_path / "o"),
            "-q",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not a netvlad-lite IR" in err and len(err.splitlines()) == 1
