"""firstshot shared core: dataset layout, synthetic data, log-mel features, official metrics."""
