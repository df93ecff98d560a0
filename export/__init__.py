"""Export: prune -> ONNX -> TFLite int8 -> verify with TFLite Micro -> C arrays for the firmware."""
