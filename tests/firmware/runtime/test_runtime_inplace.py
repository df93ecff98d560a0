"""In-place operators (firmware/runtime/fs_planner.c): DEPTHWISE_CONV_2D with depth multiplier 1
and pointwise CONV_2D with no more output than input channels write their output over their
input when that input dies at them. Small converted Keras chains that take every branch (stride
1 and 2, SAME and VALID, tall and wide filters, Cout < Cin, = Cin, > Cin, depth multiplier 2, an
input kept alive by a later ADD) must give TFLite Micro's bytes in the x86 build (plain and
sanitized) and in the QEMU Cortex-M4 harness with the reference and the DSP kernels, and the
chain's arena must be below what any plan without sharing needs: two of its largest activation.
"""
from __future__ import annotations

import pytest

from .keras_chains import convert_chain, largest_activation, run_on_cortex_m4, runmodel_harness

MACHINE = "test-inplace"


def _chain(keras, L, x):
    """conv -> dw -> pw(Cout < Cin) -> dw s2 VALID -> pw(=) -> dw 3x5 s(2,1) -> pw(Cout > Cin)."""
    y = L.Conv2D(32, (3, 3), padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D((3, 3), padding="same", activation="relu")(y)
    y = L.Conv2D(24, (1, 1))(y)
    y = L.DepthwiseConv2D((3, 3), strides=(2, 2), padding="valid", activation="relu6")(y)
    y = L.Conv2D(24, (1, 1), activation="relu")(y)
    y = L.DepthwiseConv2D((3, 5), strides=(2, 1), padding="same")(y)
    return L.Conv2D(40, (1, 1))(y)


def _skip(keras, L, x):
    """The depthwise input is still needed by the ADD after it: no sharing there."""
    a = L.Conv2D(16, (3, 3), padding="same", activation="relu")(x)
    b = L.DepthwiseConv2D((3, 3), padding="same")(a)
    c = L.Add()([a, b])
    d = L.DepthwiseConv2D((3, 3), depth_multiplier=2, padding="same")(c)
    return L.Conv2D(8, (1, 1))(d)


BUILDERS = {"chain": ((24, 24, 4), _chain), "skip": ((12, 10, 3), _skip)}


def _build(op_models, name: str) -> dict:
    shape, fn = BUILDERS[name]
    return convert_chain(op_models, name, shape, fn, len(name))


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def case(request, op_models, tmp_path_factory):
    c = _build(op_models, request.param)
    path = tmp_path_factory.mktemp("inplace") / f"{c['name']}.tflite"
    path.write_bytes(c["model"])
    c["path"] = path
    return c


def test_inplace_exact_x86(run_model, run_model_san, compare, case):
    x, want = case["inputs"], case["want"]
    for rm in (run_model, run_model_san):
        r = rm(case["path"], x.tobytes(), len(x))
        assert r.returncode == 0, r.stderr
        compare(r.outputs(want.dtype, len(x)), want.reshape(len(x), -1), case["name"])
    print(f"{case['name']}: arena {r.arena}, TFLite Micro {case['tflm_arena']}")
    assert r.arena <= case["tflm_arena"]
    if case["name"] == "chain":
        # Without sharing, conv 0's output and the first depthwise output are alive together.
        assert r.arena < 2 * largest_activation(case["model"]), r.arena


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return runmodel_harness(tmp_path_factory, MACHINE)


@pytest.mark.parametrize("kernels", ["ref", "cm4"])
def test_inplace_exact_cortex_m4(harness, case, kernels):
    r = run_on_cortex_m4(harness[kernels], case)
    print(f"{case['name']} KERNELS={kernels}: arena {r.arena}, TFLite Micro {case['tflm_arena']}")
    assert r.arena <= case["tflm_arena"]
    if case["name"] == "chain":
        assert r.arena < 2 * largest_activation(case["model"]), r.arena
