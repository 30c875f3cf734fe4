#!/usr/bin/env python3
"""The EmoBake sequence model (Stage 2) in PyTorch, written from config.json alone: makes the
reference fixture (scripts/make_sequence_reference.py) and is the peer of the sequence-model
benchmark (scripts/bench_sequence). Not used by EmoBake itself.

Front end: the compact model's log-mel (torch.stft center=True reflect, periodic Hann, HTK mel
filters, log(x + floor)) WITHOUT silence trimming, normalised per mel bin with the mean and
(biased) standard deviation over the whole clip, or, when normalisation_frames > 0, over the
frames of a window of that many frames centred on each frame (fewer at the ends).
Network: the compact backbone's blocks [conv3x3 (no bias) + BatchNorm2d (running statistics)
+ ReLU] x n, each followed by max pooling (2, 2) in the first time_pooled_blocks blocks and
(2, 1) after; mean over frequency; a centred moving mean over window_pool_frames frames (the
frames that exist at the ends); temporal_layers residual blocks
h = h + Conv1d_1(GELU(Conv1d_k(h, padding k // 2))); a per-frame Linear to K.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compact_model_torch import mel_filter_bank  # noqa: E402


def load_config(directory):
    with open(os.path.join(directory, "config.json")) as f:
        return json.load(f)


def features(samples, cfg, bank=None):
    """(mels, frames) normalised log-mel of a float32 numpy clip, no trimming."""
    f = cfg["backbone"]["features"]
    x = torch.tensor(samples, dtype=torch.float32)
    half = f["fft_size"] // 2
    if len(x) < half + 1:
        x = F.pad(x, (0, half + 1 - len(x)))
    window = torch.hann_window(f["window_length"], periodic=True)
    spec = torch.stft(x, f["fft_size"], hop_length=f["hop_length"], win_length=f["window_length"], window=window,
                      center=True, pad_mode="reflect", return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2
    if bank is None:
        bank = mel_filter_bank(cfg["backbone"])
    logged = torch.log(bank.T @ power + f["log_floor"])
    window = cfg.get("normalisation_frames", 0)
    if window > 0:
        wide = logged.double()[None]
        mean = moving_mean(wide, window)[0]
        variance = (moving_mean(wide ** 2, window)[0] - mean ** 2).clamp_min(0)
        return ((logged.double() - mean) / (variance.sqrt() + 1e-5)).float()
    mean = logged.mean(dim=1, keepdim=True)
    std = logged.std(dim=1, unbiased=False, keepdim=True)
    return (logged - mean) / (std + 1e-5)


def moving_mean(x, width):
    """(N, C, T) -> the mean over a centred window of `width` (odd) frames, of those that exist."""
    half = width // 2
    return F.avg_pool1d(x, width, stride=1, padding=half, count_include_pad=False) if half > 0 else x


class SequenceNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        b = cfg["backbone"]
        self.backbone = nn.Module()
        blocks, inputs = [], 1
        for width, count in zip(b["channels"], b["convolutions_per_block"]):
            layers = []
            for _ in range(count):
                layer = nn.Module()
                layer.conv = nn.Conv2d(inputs, width, 3, padding=1, bias=False)
                layer.norm = nn.BatchNorm2d(width)
                layers.append(layer)
                inputs = width
            blocks.append(nn.ModuleList(layers))
        self.backbone.blocks = nn.ModuleList(blocks)
        self.backbone.classifier = nn.Linear(inputs, len(cfg["emotions"]))
        k = cfg["temporal_kernel"]
        self.temporal = nn.ModuleList()
        for _ in range(cfg["temporal_layers"]):
            block = nn.Module()
            block.conv = nn.Conv1d(inputs, inputs, k, padding=k // 2)
            block.projection = nn.Conv1d(inputs, inputs, 1)
            self.temporal.append(block)

    def forward(self, x):
        """x: (N, 1, mels, frames) -> raw outputs (N, T, K)."""
        for index, block in enumerate(self.backbone.blocks):
            for layer in block:
                x = F.relu(layer.norm(layer.conv(x)))
            x = F.max_pool2d(x, (2, 2 if index < self.cfg["time_pooled_blocks"] else 1))
        h = moving_mean(x.mean(dim=2), self.cfg.get("window_pool_frames", 1))  # (N, C, T)
        for block in self.temporal:
            h = h + block.projection(F.gelu(block.conv(h)))
        return self.backbone.classifier(h.transpose(1, 2))


def alpha(cfg, outputs):
    if cfg["head"] == "dirichlet":
        return outputs.double() ** 2 + 1e-6
    return torch.softmax(outputs.double(), dim=-1).clamp_min(1e-12) * cfg["softmax_concentration"]


def load_model(directory):
    cfg = load_config(directory)
    model = SequenceNet(cfg)
    state = load_file(os.path.join(directory, "model.safetensors"))
    model.load_state_dict(state, strict=False)
    missing = set(model.state_dict().keys()) - set(state.keys())
    assert all(name.endswith("num_batches_tracked") for name in missing), missing
    model.eval()
    return cfg, model
