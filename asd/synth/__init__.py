"""Synthetic machine sounds in the DCASE 2025 Task 2 layout: `python -m asd.synth --out DIR`."""
