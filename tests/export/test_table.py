"""export.table's summary lines: drops in official-score points, gains said as such."""
from export.table import markdown


def _report(prune, unpruned, float_, int8):
    m = lambda o: {"auc_source": o, "auc_target": o, "pauc": o, "official_score": o}
    return {"machine": "fan", "model": "cls", "prune": prune, "macs_per_inference": 10,
            "params": 5, "model_bytes": 100, "arena_bytes": 50,
            "unpruned": {**m(unpruned), "macs_per_inference": 20, "params": 10},
            "float": m(float_), "int8": m(int8)}


def test_summary_lines_report_drops_and_gains():
    text = markdown([_report(None, 0.70, 0.70, 0.69), _report(None, 0.60, 0.60, 0.605),
                     _report(0.5, 0.70, 0.71, 0.72)])
    assert "int8 vs float (unpruned): largest drop 1.00 points, mean 0.25 points over 2" in text
    assert "pruned int8 vs pruned float: no drop in any, mean -1.00 points over 1" in text
    assert "pruned int8 vs unpruned float: no drop in any, mean -2.00 points over 1" in text
    assert text.count("| fan | cls |") == 2 + 2 + 3
