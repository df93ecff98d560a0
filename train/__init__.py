"""Training, scoring and thresholds for the first-shot models (stats, ae, ae-maha, cls: one class
each in train/kinds/, which says how each is built, trained, scored and exported).

Public API (what export and bench use)::

    from train import load_run, clip_score
    run = load_run(run_dir)            # -> train.run.Run
    run.config                         # train.config.TrainConfig (frozen; config.json)
    run.model                          # torch.nn.Module, float, eval mode; rebuilt from config by
                                       #   train.models.build(config), weights from model.pt
    run.constants                      # dict of numpy arrays (scoring.npz):
                                       #   ae: {}; ae-maha: mean_/inv_cov_ source|target;
                                       #   cls: centres (K, emb_dim) (whitened space), scales (K,),
                                       #        centre_domain (K,) 0 source / 1 target
    run.threshold                      # float: decision threshold (threshold.json); the source
                                       #   domain's when the kind has one per domain (stats)
    run.threshold_target               # float | None: the target domain's threshold (stats)
    run.inputs(logmel)                 # network inputs of one clip from its (n_frames, 128)
                                       #   log-mel: ae (N, 640); cls (P, 1, 32, 128), hop 16
    run.outputs(inputs)                # float network outputs for those inputs
    run.score_outputs(inputs, outputs) # the clip's score from network inputs and outputs — feed
                                       #   dequantized int8 outputs here to score like the chip
    run.score(logmel)                  # = score_outputs(inputs(lm), outputs(inputs(lm)))
    run.score_and_domain(logmel)       # (score, domain whose threshold decides the clip)
    run.decide(score, domain=0)        # True = anomaly (score > that domain's threshold)
    clip_score(run, logmel) -> float   # same as run.score(logmel)
    train.score.score_outputs(model_name, inputs, outputs, constants) -> float  # no Run needed

Scores: ae = mean over vectors of the MSE between input and output; ae-maha = min over domains of
the clip-mean Mahalanobis distance of residuals; cls = min_k (1 - cos(mean of L2-normalised patch
embeddings, centre_k)) / scale_k. Details in train/score.py.
"""
from train.run import Run, load_run
from train.score import clip_score, score_outputs

__all__ = ["Run", "load_run", "clip_score", "score_outputs"]
