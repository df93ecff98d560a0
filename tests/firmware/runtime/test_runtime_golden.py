"""The C runtime (run-model) against committed TFLite Micro outputs, op by op.

Golden cases live in tests/firmware/golden/runtime/ (made by make_golden.py, stamped with the
TensorFlow and tflite-micro versions): randomized shapes, strides, paddings, dilations,
activations and quantization parameters for every supported operator, plus crafted variants.
Each must give byte-equal outputs for all its inputs, in the plain and the ASan+UBSan build,
with an arena no larger than TFLite Micro's for the same model.
"""
import json
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "runtime"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
CASES = MANIFEST["cases"]


def test_manifest_is_stamped_and_small():
    stamp = MANIFEST["stamp"]
    assert stamp["generator"] == "tests/firmware/make_golden.py"
    assert {"tensorflow", "tflite-micro"} <= set(stamp["versions"])
    total = sum(f.stat().st_size for f in GOLDEN.iterdir())
    assert total < 2_000_000, f"golden data is {total} bytes"
    covered = {op for c in CASES for op in c["ops"]}
    required = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL", "MEAN", "AVERAGE_POOL_2D",
                "MAX_POOL_2D", "RESHAPE", "SQUEEZE", "CONCATENATION", "PAD", "SOFTMAX", "LOGISTIC",
                "QUANTIZE", "DEQUANTIZE"}
    assert required <= covered, f"not covered: {required - covered}"


def _check(runner, case, compare):
    data = (GOLDEN / f"{case['name']}.in.bin").read_bytes()
    want = np.frombuffer((GOLDEN / f"{case['name']}.out.bin").read_bytes(), dtype=case["output_dtype"])
    r = runner(GOLDEN / f"{case['name']}.tflite", data, case["count"])
    assert r.returncode == 0, f"{case['name']} ({case['ops']}): {r.stderr}"
    got = r.outputs(case["output_dtype"], case["count"])
    compare(got, want.reshape(case["count"], -1), f"{case['name']} {case['ops']} {case['params']}")
    assert r.arena is not None and r.arena <= case["tflm_arena"], \
        f"{case['name']}: arena {r.arena} > TFLite Micro's {case['tflm_arena']}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_case(run_model, compare, case):
    _check(run_model, case, compare)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_case_sanitized(run_model_san, compare, case):
    _check(run_model_san, case, compare)


@pytest.mark.parametrize("case", MANIFEST["refuse"], ids=[c["name"] for c in MANIFEST["refuse"]])
def test_golden_refusal(run_model, run_model_san, case):
    for runner in (run_model, run_model_san):
        r = runner(GOLDEN / f"{case['name']}.tflite", b"")
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("run-model: "), r.stderr
        assert case["expect"] in lines[0], lines[0]
