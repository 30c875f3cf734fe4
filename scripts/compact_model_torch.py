#!/usr/bin/env python3
"""The EmoBake compact model in PyTorch, written from config.json alone: used to make the
reference fixture (scripts/make_training_reference.py) and as the peer in the inference
benchmark (scripts/bench_compact_model.py). Not used by EmoBake itself.

Front end: torch.stft(center=True, reflect) with a periodic Hann window of window_length in
an fft_size frame, power, HTK mel filters (no normalisation), log(x + floor), per-bin
mean/std normalisation over the clip, after trimming leading and trailing silence.
Network: blocks of [conv3x3 (no bias) + BatchNorm2d + ReLU] x n + MaxPool2d(2), mean over
frequency and the real frames, dropout, Linear.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file


def load_config(directory):
    with open(os.path.join(directory, "config.json")) as f:
        return json.load(f)


def mel_filter_bank(cfg):
    f = cfg["features"]
    bins = f["fft_size"] // 2 + 1
    mels = f["mel_bins"]
    to_mel = lambda hz: 2595.0 * math.log10(1.0 + hz / 700.0)
    to_hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)
    low, high = to_mel(f["min_frequency"]), to_mel(f["max_frequency"])
    edges = [to_hz(low + (high - low) * i / (mels + 1)) for i in range(mels + 2)]
    freqs = np.linspace(0, cfg["sample_rate"] / 2, bins)
    bank = np.zeros((bins, mels))
    for m in range(mels):
        down = (freqs - edges[m]) / (edges[m + 1] - edges[m])
        up = (edges[m + 2] - freqs) / (edges[m + 2] - edges[m + 1])
        bank[:, m] = np.maximum(0, np.minimum(down, up))
    return torch.tensor(bank, dtype=torch.float32)


def speech_range(samples, cfg):
    f = cfg["features"]
    n = len(samples)
    length, hop = f["window_length"], f["hop_length"]
    if f.get("trim_decibels", 0) <= 0 or n <= length:
        return 0, n
    x = samples.astype(np.float64)
    energies = np.mean(np.lib.stride_tricks.sliding_window_view(x, length)[::hop] ** 2, axis=1)
    loudest = energies.max()
    if loudest <= 0:
        return 0, n
    threshold = loudest * 10 ** (-f["trim_decibels"] / 10)
    above = np.nonzero(energies >= threshold)[0]
    margin = int(round(f["trim_margin"] * cfg["sample_rate"]))
    return max(0, above[0] * hop - margin), min(n, above[-1] * hop + length + margin)


def features(samples, cfg, bank=None):
    """(mels, frames) normalised log-mel of a float32 numpy clip."""
    f = cfg["features"]
    lo, hi = speech_range(samples, cfg)
    x = torch.tensor(samples[lo:hi], dtype=torch.float32)
    half = f["fft_size"] // 2
    if len(x) < half + 1:
        x = F.pad(x, (0, half + 1 - len(x)))
    window = torch.hann_window(f["window_length"], periodic=True)
    spec = torch.stft(x, f["fft_size"], hop_length=f["hop_length"], win_length=f["window_length"], window=window,
                      center=True, pad_mode="reflect", return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2  # (bins, frames)
    if bank is None:
        bank = mel_filter_bank(cfg)
    mel = bank.T @ power  # (mels, frames)
    logged = torch.log(mel + f["log_floor"])
    mean = logged.mean(dim=1, keepdim=True)
    std = logged.std(dim=1, unbiased=False, keepdim=True)
    return (logged - mean) / (std + 1e-5)


class CompactNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        blocks = []
        inputs = 1
        for width, count in zip(cfg["channels"], cfg["convolutions_per_block"]):
            layers = []
            for _ in range(count):
                layer = nn.Module()
                layer.conv = nn.Conv2d(inputs, width, 3, padding=1, bias=False)
                layer.norm = nn.BatchNorm2d(width)
                layers.append(layer)
                inputs = width
            blocks.append(nn.ModuleList(layers))
        self.blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(cfg.get("dropout", 0))
        self.classifier = nn.Linear(inputs, len(cfg["emotions"]))

    def forward(self, x, valid_frames):
        """x: (N, 1, mels, frames) -> raw outputs (N, K)."""
        for block in self.blocks:
            for layer in block:
                x = F.relu(layer.norm(layer.conv(x)))
            x = F.max_pool2d(x, 2)
        reduction = 2 ** len(self.blocks)
        width = x.shape[3]
        pooled = torch.stack([x[n, :, :, :min(width, max(1, v // reduction))].mean(dim=(1, 2))
                              for n, v in enumerate(valid_frames)])
        return self.classifier(self.dropout(pooled))


def alpha(cfg, outputs):
    if cfg["head"] == "dirichlet":
        return outputs.double() ** 2 + 1e-6
    return torch.softmax(outputs.double(), dim=-1).clamp_min(1e-12) * cfg["softmax_concentration"]


def load_model(directory):
    cfg = load_config(directory)
    model = CompactNet(cfg)
    state = load_file(os.path.join(directory, "model.safetensors"))
    model.load_state_dict(state, strict=False)
    missing = set(model.state_dict().keys()) - set(state.keys())
    assert all(name.endswith("num_batches_tracked") for name in missing), missing
    model.eval()
    return cfg, model


def clip_input(samples, cfg, bank=None):
    """The network input of one clip, padded to at least 2^blocks frames, and its real frame count."""
    feats = features(samples, cfg, bank)
    frames = feats.shape[1]
    minimum = 2 ** len(cfg["channels"])
    if frames < minimum:
        feats = F.pad(feats, (0, minimum - frames))
    return feats[None, None], frames
