"""The C runtime on the MLPerf Tiny int8 models (third_party/mlperf-tiny/), byte-exact against the
tflite_micro interpreter on random inputs, with an arena no larger than TFLite Micro's."""

import numpy as np
import pytest

from tests.support import MLPERF as MODELS
NAMES = ["ad01_int8.tflite", "kws_ref_model.tflite", "pretrainedResnet_quant.tflite"]


@pytest.fixture(scope="module", params=NAMES)
def mlperf(request, op_models):
    path = MODELS / request.param
    model = path.read_bytes()
    details = op_models.tflm_input_details(model)
    rng = np.random.default_rng(sum(model[:64]))
    x = rng.integers(-128, 128, size=(6, *details["shape"]), dtype=np.int64).astype(np.int8)
    want, arena = op_models.tflm_run(model, x)
    return path, x, want, arena


def test_mlperf_exact_and_arena(run_model, compare, mlperf):
    path, x, want, tflm_arena = mlperf
    r = run_model(path, x.tobytes(), len(x))
    assert r.returncode == 0, r.stderr
    compare(r.outputs(want.dtype, len(x)), want.reshape(len(x), -1), path.name)
    print(f"{path.name}: arena {r.arena} bytes, TFLite Micro {tflm_arena}")
    assert r.arena <= tflm_arena


def test_mlperf_sanitized(run_model_san, compare, mlperf):
    path, x, want, _ = mlperf
    r = run_model_san(path, x[:2].tobytes(), 2)
    assert r.returncode == 0, r.stderr
    compare(r.outputs(want.dtype, 2), want[:2].reshape(2, -1), path.name)
