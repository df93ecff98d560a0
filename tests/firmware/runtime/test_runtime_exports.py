"""The C runtime on the project's own models: the ae, cls and stats models trained and exported by
the shared test fixtures (tests/conftest.py, the full `python -m export` path), and (with
FIRSTSHOT_LONG=1) both architectures freshly converted from PyTorch with random weights.
Byte-exact against TFLite Micro, arena <= TFLM's."""
import os
from pathlib import Path

import numpy as np
import pytest

LONG = os.environ.get("FIRSTSHOT_LONG") == "1"


def _check(path: Path, run_model, compare, op_models, n: int = 4) -> None:
    model = path.read_bytes()
    details = op_models.tflm_input_details(model)
    x = np.random.default_rng(len(model)).integers(-128, 128, size=(n, *details["shape"]), dtype=np.int64)
    x = x.astype(details["dtype"])
    want, tflm_arena = op_models.tflm_run(model, x)
    r = run_model(path, x.tobytes(), n)
    assert r.returncode == 0, r.stderr
    compare(r.outputs(want.dtype, n), want.reshape(n, -1), f"{path} {op_models.builtin_ops(model)}")
    assert r.arena <= tflm_arena, f"{path}: arena {r.arena} > TFLite Micro's {tflm_arena}"


@pytest.mark.parametrize("model", ["ae", "cls"])
def test_exported_model(model, exports, run_model, compare, op_models):
    _check(exports[model][0] / "model.tflite", run_model, compare, op_models)


def test_exported_stats_model(stats_export, run_model, compare, op_models):
    _check(stats_export[0] / "model.tflite", run_model, compare, op_models)


@pytest.mark.skipif(not LONG, reason="converts PyTorch models; runs with FIRSTSHOT_LONG=1")
@pytest.mark.parametrize("kind", ["ae", "cls"])
def test_project_architecture(kind, tmp_path, run_model, run_model_san, compare, op_models):
    torch = pytest.importorskip("torch")
    from export.convert import convert
    from train.config import TrainConfig
    from train.models import build, example_input

    cfg = TrainConfig(machine="test", model=kind)
    torch.manual_seed(0)
    net = build(cfg).eval()
    example = example_input(cfg)
    rep = (np.random.default_rng(0).standard_normal((32, *example.shape[1:])) * 5).astype(np.float32)
    tflite, _, _ = convert(net, example, rep[:4], rep, tmp_path / "work")
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(tflite)
    _check(path, run_model, compare, op_models)
    _check(path, run_model_san, compare, op_models, n=1)
