"""Property-based exactness: hypothesis draws an operator and its shapes, strides, paddings,
dilations, activations and calibration ranges; TensorFlow builds and converts the model live,
TFLite Micro runs it, and run-model (plain and ASan+UBSan builds) must match byte for byte with
an arena no larger than TFLM's. A few examples normally; many with FIRSTSHOT_LONG=1
(`make test-long`).

Models are built in a separate server process (op_models.py --serve), so a TensorFlow abort on
some parameter set cannot take pytest down; sets the converter cannot handle are rejected."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parents[1]  # tests/firmware: op_models.py
LONG = os.environ.get("FIRSTSHOT_LONG") == "1"
EXAMPLES = 250 if LONG else 8


class CaseServer:
    def __init__(self, workdir: Path):
        self.workdir, self.proc, self.n = workdir, None, 0

    def _start(self):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "op_models.py"), "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)

    def build(self, op, params, seed, n=3):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.n += 1
        out = str(self.workdir / f"case{self.n}")
        self.proc.stdin.write(json.dumps({"op": op, "params": params, "seed": seed, "n": n, "out": out}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        while line and not line.startswith("CASE "):
            line = self.proc.stdout.readline()
        if not line:  # TensorFlow or TFLite Micro aborted on this parameter set
            self.proc = None
            return None
        ans = json.loads(line[5:])
        if not ans["ok"]:
            return None
        data = np.load(out + ".npz")
        return Path(out + ".tflite"), data["inputs"], data["outputs"], ans

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = CaseServer(tmp_path_factory.mktemp("cases"))
    yield s
    s.close()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_random_op_matches_tflm(server, run_model, run_model_san, compare, op_models, data):
    op = data.draw(st.sampled_from(op_models.OPS), label="op")
    params = op_models.random_params(op, op_models.HypothesisChooser(data))
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    built = server.build(op, params, seed)
    assume(built is not None)
    model, x, want, info = built
    for runner in (run_model, run_model_san):
        r = runner(model, x.tobytes(), len(x))
        assert r.returncode == 0, f"{op} {params}: {r.stderr}"
        compare(r.outputs(want.dtype, len(x)), want.reshape(len(x), -1), f"{op} {info['ops']} {params}")
        assert r.arena <= info["tflm_arena"], f"arena {r.arena} > TFLite Micro's {info['tflm_arena']}"
