"""Architectures: the official AE exactly, the cls network within its MCU budget and op set."""
import torch
from torch import nn

from train.complexity import complexity
from train.config import make_config
from train.models import build, example_input
from train.models.cls import ArcFace, SeparableBlock


def test_ae_is_the_official_baseline():
    cfg = make_config("fan", "ae")
    net = build(cfg)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    widths = [linears[0].in_features] + [m.out_features for m in linears]
    assert widths == [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(bns) == 9 and all(b.momentum == 0.01 and b.eps == 1e-3 for b in bns)
    c = complexity(cfg, net)
    assert c["macs_per_inference"] == 264_192          # MLPerf Tiny ad01's figure
    assert c["inferences_per_10s_clip"] == 309
    assert build(cfg)(torch.zeros(3, 640)).shape == (3, 640)


ALLOWED = (nn.Conv2d, nn.BatchNorm2d, nn.BatchNorm1d, nn.ReLU, nn.ReLU6, nn.Linear, nn.AvgPool2d,
           nn.Sequential,
           SeparableBlock)


def test_cls_fits_the_mcu_budget_and_op_set():
    cfg = make_config("fan", "cls")
    net = build(cfg).eval()
    c = complexity(cfg, net)
    assert c["params"] <= 100_000
    assert c["macs_per_inference"] <= 5_000_000
    assert c["inferences_per_10s_clip"] == 18
    for m in net.modules():
        assert m is net or isinstance(m, ALLOWED), type(m)
        assert not isinstance(m, ArcFace)          # the margin head is never part of the network
    out = net(example_input(cfg, 2))
    assert out.shape == (2, cfg.emb_dim)
    # thop bookkeeping must not leak into the weights export loads
    assert not any("total_ops" in k for k in net.state_dict())


def test_cls_first_layer_absorbs_input_offset():
    """No padding in the stem: a dB offset on the input changes nothing after its BatchNorm
    (eval-mode statistics aside), which is why no input normalisation layer exists."""
    cfg = make_config("fan", "cls")
    net = build(cfg)
    assert net.stem[0].padding == (0, 0)
