import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from asd.metrics import (SectionScores, official_score, read_scores, result_table,
                         section_metrics, write_decisions, write_scores)


def _pair_auc(neg, pos):
    """AUC by counting pairs: P(score_anomaly > score_normal) + 0.5 P(tie)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_domain_auc_uses_that_domains_normals_and_all_anomalies():
    # source normals score low, target normals high: AUC(target) must suffer
    scores = [0.1, 0.2, 0.8, 0.9, 0.5, 0.6, 0.7, 0.95]
    anomal = [0, 0, 0, 0, 1, 1, 1, 1]
    domain = ["source", "source", "target", "target", "source", "source", "target", "target"]
    m = section_metrics(scores, anomal, domain)
    assert m.auc_source == pytest.approx(1.0)
    assert m.auc_target == pytest.approx(_pair_auc([0.8, 0.9], [0.5, 0.6, 0.7, 0.95]))
    assert m.auc_target == pytest.approx(2 / 8)


def test_pauc_hand_computed_mcclish():
    # 10 normals, 2 anomalies; one normal outscores one anomaly.
    normals = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95]
    anomalies = [0.9, 1.0]
    s = normals + anomalies
    y = [0] * 10 + [1] * 2
    m = section_metrics(s, y, ["source"] * 5 + ["target"] * 5 + ["source", "target"])
    # ROC: TPR 1/2 at FPR 0, then 1.0 once FPR reaches 0.1 (the 0.95 normal passes 0.9's rank).
    # Points: (0,0.5) -> (0.1,0.5) -> (0.1,1.0): partial area up to FPR 0.1 = 0.1 * 0.5 = 0.05.
    raw, lo, hi = 0.05, 0.5 * 0.1 ** 2, 0.1
    assert m.pauc == pytest.approx(0.5 * (1 + (raw - lo) / (hi - lo)))
    assert m.pauc == pytest.approx(roc_auc_score(y, s, max_fpr=0.1))


def test_perfect_and_inverted():
    y = [0, 0, 1, 1]
    d = ["source", "target", "source", "target"]
    assert section_metrics([0, 0, 1, 1], y, d) == SectionScores(1.0, 1.0, 1.0)
    inv = section_metrics([1, 1, 0, 0], y, d)
    assert inv.auc_source == 0.0 and inv.auc_target == 0.0


def test_official_score_is_harmonic_mean_over_all_values():
    per = {"a": SectionScores(0.8, 0.6, 0.5), "b": SectionScores(0.9, 0.7, 0.6)}
    vals = [0.8, 0.6, 0.5, 0.9, 0.7, 0.6]
    assert official_score(per) == pytest.approx(len(vals) / sum(1 / v for v in vals))


def test_missing_class_is_a_clear_error():
    with pytest.raises(ValueError, match="both normal and anomalous"):
        section_metrics([0.1, 0.2], [0, 0], ["source", "target"])
    with pytest.raises(ValueError, match="no normal target clips"):
        section_metrics([0.1, 0.2], [0, 1], ["source", "target"])


def test_submission_csvs(tmp_path):
    files = ["/x/section_00_0000.wav", "/x/section_00_0001.wav"]
    p = write_scores(tmp_path, "Polisher", files, [0.25, 1.5])
    assert p.name == "anomaly_score_Polisher_section_00_test.csv"
    assert p.read_text() == "section_00_0000.wav,0.25\nsection_00_0001.wav,1.5\n"
    assert read_scores(p) == {"section_00_0000.wav": 0.25, "section_00_0001.wav": 1.5}
    d = write_decisions(tmp_path, "Polisher", files, [False, True])
    assert d.name == "decision_result_Polisher_section_00_test.csv"
    assert d.read_text() == "section_00_0000.wav,0\nsection_00_0001.wav,1\n"


def test_result_table_shape():
    per = {"fan": SectionScores(0.8, 0.6, 0.5), "valve": SectionScores(0.9, 0.7, 0.6)}
    rows = result_table(per)
    assert rows[0] == ["machine", "AUC (source)", "AUC (target)", "pAUC"]
    assert [r[0] for r in rows[1:]] == ["fan", "valve", "arithmetic mean", "harmonic mean",
                                        "official score"]
    assert rows[3][1] == f"{np.mean([0.8, 0.9]):.4f}"
    assert rows[-1][1] == f"{official_score(per):.4f}"
