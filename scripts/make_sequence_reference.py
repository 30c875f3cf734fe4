#!/usr/bin/env python3
"""Makes Fixtures/review/tiny-sequence-model and Fixtures/review/tiny-pooled-sequence-model:
tiny EmoBake sequence models with random weights (seeded), the first in the per-frame layout
(25 fps, whole-clip normalisation), the second as `emobake train sequence` makes them by
default (every block pools time, a window mean, local normalisation), with PyTorch's
features, raw outputs and alpha for three deterministic signals, which
Tests/TrainingTests/SequenceReferenceTests.swift compares against the Swift implementation.

usage: scripts/make_sequence_reference.py [FIXTURES_REVIEW_DIR]
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sequence_model_torch as seq  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Fixtures/review")
EMOTIONS = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"]

CONFIG = {
    "model_type": "emobake-sequence", "format_version": 1, "emotions": EMOTIONS, "sample_rate": 16000,
    "head": "dirichlet", "softmax_concentration": 10, "time_pooled_blocks": 2, "temporal_layers": 2,
    "temporal_kernel": 5, "frame_rate": 25,
    "backbone": {
        "model_type": "emobake-compact", "format_version": 1, "emotions": EMOTIONS, "sample_rate": 16000,
        "head": "dirichlet", "softmax_concentration": 10, "channels": [4, 6, 8], "convolutions_per_block": [1, 2, 1],
        "dropout": 0, "features": {"fft_size": 512, "window_length": 400, "hop_length": 160, "mel_bins": 24,
                                   "min_frequency": 20, "max_frequency": 8000, "log_floor": 1e-06,
                                   "trim_decibels": 40, "trim_margin": 0.15}},
}


def signal(count):
    """Two tones switching halfway with a deterministic buzz and hiss (the same formula as the Swift test)."""
    n = np.arange(count)
    t = n / 16000.0
    first = 0.4 * np.sin(2 * np.pi * 330 * t)
    second = 0.2 * np.sin(2 * np.pi * 880 * t + 0.5) + 0.1 * np.sin(2 * np.pi * 2500 * t)
    tone = np.where(n < count // 2, first, second)
    buzz = 0.02 * (((n * 7919) % 101) - 50) / 50.0
    return (tone + buzz + 0.01 * hiss(count)).astype(np.float32)


def hiss(count):
    """Deterministic white noise in [-0.5, 0.5) from a 32-bit LCG (the Swift test's formula): it
    gives every mel bin energy, so that normalising over short windows is well conditioned."""
    state, values = 12345, np.empty(count)
    for i in range(count):
        state = (1664525 * state + 1013904223) % 4294967296
        values[i] = (state >> 8) / 16777216.0 - 0.5
    return values


POOLED = dict(CONFIG, time_pooled_blocks=3, frame_rate=12.5, window_pool_frames=5, normalisation_frames=41)


def main():
    make(CONFIG, os.path.join(FOLDER, "tiny-sequence-model"))
    make(POOLED, os.path.join(FOLDER, "tiny-pooled-sequence-model"))


def make(CONFIG, OUT):
    torch.manual_seed(7)
    model = seq.SequenceNet(CONFIG)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_mean"):
                tensor.copy_(torch.randn_like(tensor) * 0.1)
            elif name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)
            elif name.endswith("num_batches_tracked"):
                continue
            elif "norm.weight" in name:
                tensor.copy_(1 + 0.2 * torch.randn_like(tensor))
            else:
                tensor.copy_(torch.randn_like(tensor) * 0.3)
    model.eval()
    os.makedirs(OUT, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(state, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt", "identifier": "tiny-sequence-reference"})
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    reference = {"signals": {}}
    for count in [24000, 9000, 400]:
        samples = signal(count)
        feats = seq.features(samples, CONFIG)
        frames = feats.shape[1]
        x = feats[None, None]
        reduction = 2 ** CONFIG["time_pooled_blocks"]
        if frames < reduction:
            x = torch.nn.functional.pad(x, (0, reduction - frames))
        with torch.no_grad():
            outputs = model(x)[0]
        reference["signals"][str(count)] = {
            "frames": frames,
            "features": [round(float(v), 6) for v in feats.flatten()],
            "outputs": [round(float(v), 6) for v in outputs.flatten()],
            "alpha": [round(float(v), 8) for v in seq.alpha(CONFIG, outputs).flatten()],
        }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
