#!/usr/bin/env python3
"""Writes Fixtures/training/autograd-reference.json: PyTorch outputs and gradients for every
operation the EmoBake autograd implements, on tiny random inputs.

Inputs are stored in EmoBake's layouts (convolutions and batch norm are channel-major:
(C, N, H, W)); this script permutes them to PyTorch's (N, C, H, W) and back. Every case
computes L = sum(output * seed) (seed random, stored) or the loss itself, in float64 from
inputs rounded to 6 decimals, and stores the output and dL/d(every input).

Run: pip install torch==2.13.0 && python3 scripts/make_training_reference.py
CI never runs this; the Swift tests read the JSON it wrote.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20240504)
torch.set_default_dtype(torch.float64)


def rand(*shape, scale=1.0):
    values = (torch.randn(*shape) * scale).numpy().round(6)
    return torch.tensor(values, requires_grad=True)


def distinct(*shape):
    """Values with no near-ties (for max pooling and ReLU kinks)."""
    count = 1
    for s in shape:
        count *= s
    permutation = torch.randperm(count).double()
    values = ((permutation - count / 2) * 0.05).reshape(*shape).numpy().round(6)
    return torch.tensor(values, requires_grad=True)


def pack(tensor):
    t = tensor.detach().contiguous()
    return {"shape": list(t.shape), "values": [float("%.9g" % v) for v in t.reshape(-1).tolist()]}


cases = []


def case(name, inputs, output, attributes=None, seed=None):
    """inputs: dict name -> leaf tensor in EmoBake layout; output: tensor in EmoBake layout."""
    if seed is None and output.numel() > 1:
        seed = torch.tensor(torch.randn(*output.shape).numpy().round(6))
    loss = output.sum() if output.numel() == 1 and seed is None else (output * seed).sum()
    for t in inputs.values():
        t.grad = None
    loss.backward()
    entry = {"name": name, "attributes": attributes or {}, "inputs": {k: pack(v) for k, v in inputs.items()},
             "output": pack(output)}
    if seed is not None:
        entry["seed"] = pack(seed)
    entry["gradients"] = {k: pack(v.grad) for k, v in inputs.items() if v.grad is not None}
    cases.append(entry)


def to_torch(x):  # (C, N, H, W) -> (N, C, H, W)
    return x.permute(1, 0, *range(2, x.dim()))


def from_torch(y):  # (N, C, ...) -> (C, N, ...)
    return y.permute(1, 0, *range(2, y.dim()))


# linear: (2, 3, 5) x W(4, 5)^T + b
x, w, b = rand(2, 3, 5), rand(4, 5), rand(4)
case("linear", {"x": x, "weight": w, "bias": b}, F.linear(x, w, b))

# 2-D convolution, 3x3, padding 1
x, w, b = rand(3, 2, 5, 6), rand(4, 3, 3, 3, scale=0.5), rand(4)
case("convolution2D", {"x": x, "weight": w, "bias": b},
     from_torch(F.conv2d(to_torch(x), w, b, padding=1)), {"stride": [1, 1], "padding": [1, 1]})

# 2-D convolution, 3x2 kernel, stride 2, padding (0, 1), no bias
x, w = rand(2, 2, 7, 6), rand(3, 2, 3, 2, scale=0.5)
case("convolution2D", {"x": x, "weight": w},
     from_torch(F.conv2d(to_torch(x), w, None, stride=2, padding=(0, 1))), {"stride": [2, 2], "padding": [0, 1]})

# 1-D convolution, kernel 5, stride 2, padding 1
x, w, b = rand(2, 2, 11), rand(3, 2, 5, scale=0.5), rand(3)
case("convolution1D", {"x": x, "weight": w, "bias": b},
     from_torch(F.conv1d(to_torch(x), w, b, stride=2, padding=1)), {"stride": [2], "padding": [1]})

# batch norm, training (batch statistics) and the running statistics it leaves
x, g, b = rand(3, 2, 4, 5, scale=2.0), rand(3), rand(3)
running_mean, running_var = torch.zeros(3), torch.ones(3)
y = from_torch(F.batch_norm(to_torch(x), running_mean, running_var, g, b, training=True, momentum=0.1, eps=1e-5))
case("batchNormTraining", {"x": x, "gamma": g, "beta": b}, y,
     {"runningMean": running_mean.tolist(), "runningVariance": running_var.tolist()})

# batch norm, inference (running statistics)
x, g, b = rand(3, 2, 4, 5), rand(3), rand(3)
mean, var = torch.tensor([0.1, -0.2, 0.3]), torch.tensor([0.5, 1.5, 2.0])
y = from_torch(F.batch_norm(to_torch(x), mean, var, g, b, training=False, eps=1e-5))
case("batchNormInference", {"x": x, "gamma": g, "beta": b}, y,
     {"runningMean": mean.tolist(), "runningVariance": var.tolist()})

x, g, b = rand(2, 3, 8), rand(8), rand(8)
case("layerNorm", {"x": x, "gamma": g, "beta": b}, F.layer_norm(x, (8,), g, b, eps=1e-5))

x = distinct(4, 7)
case("relu", {"x": x}, F.relu(x))
x = rand(4, 7, scale=2.0)
case("gelu", {"x": x}, F.gelu(x))

x = distinct(2, 2, 5, 7)
case("maxPool2D", {"x": x}, from_torch(F.max_pool2d(to_torch(x), 2)))

# mean over height and the first valid columns: (C, N, H, W) -> (N, C)
x = rand(3, 2, 2, 5)
valid = [5, 3]
pooled = torch.stack([x[:, n, :, :valid[n]].mean(dim=(1, 2)) for n in range(2)])
case("maskedMeanPool", {"x": x}, pooled, {"validWidths": valid})

x = rand(2, 4, 3)
lengths = [4, 2]
pooled = torch.stack([x[n, :lengths[n]].mean(dim=0) for n in range(2)])
case("maskedMeanOverTime", {"x": x}, pooled, {"lengths": lengths})

x = rand(2, 3, 4)
case("permute", {"x": x}, x.permute(2, 0, 1), {"order": [2, 0, 1]})

# attention: 2 heads of width 4, keys of sample 1 masked after 3 steps
q, k, v = rand(2, 5, 8), rand(2, 5, 8), rand(2, 5, 8)
lengths = [5, 3]
heads = 2


def split(t):
    return t.reshape(2, 5, heads, 4).transpose(1, 2)


mask = torch.zeros(2, 1, 1, 5, dtype=torch.bool)
for n in range(2):
    mask[n, :, :, :lengths[n]] = True
o = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=mask)
case("attention", {"query": q, "key": k, "value": v}, o.transpose(1, 2).reshape(2, 5, 8),
     {"heads": heads, "lengths": lengths})

# losses on (4, 7) outputs with smoothed one-hot targets
labels = [0, 3, 6, 2]


def smoothed(eps):
    t = torch.full((4, 7), eps / 7)
    for n, label in enumerate(labels):
        t[n, label] += 1 - eps
    return t


targets = smoothed(0.1)
x = rand(4, 7)
case("crossEntropy", {"x": x}, -(targets * F.log_softmax(x, dim=1)).sum(dim=1).mean(),
     {"targets": targets.tolist()})
x = rand(4, 7)
alpha = x ** 2 + 1e-6
case("dirichletNLL", {"x": x}, -torch.distributions.Dirichlet(alpha).log_prob(targets).mean(),
     {"targets": targets.tolist()})
x = rand(4, 7)
targets2 = smoothed(0.3)
alpha = x ** 2 + 1e-6
case("dirichletMeanCrossEntropy", {"x": x}, -(targets2 * torch.log(alpha / alpha.sum(dim=1, keepdim=True))).sum(dim=1).mean(),
     {"targets": targets2.tolist()})

# a tiny CNN end to end: conv-bn-relu-pool, conv-bn-relu, masked mean, linear, Dirichlet NLL
x = rand(1, 3, 8, 12)
w1, b1, g1, be1 = rand(4, 1, 3, 3, scale=0.5), rand(4), rand(4), rand(4)
w2, b2, g2, be2 = rand(5, 4, 3, 3, scale=0.3), rand(5), rand(5), rand(5)
wl, bl = rand(7, 5), rand(7)
valid = [6, 4, 2]
h = F.conv2d(to_torch(x), w1, b1, padding=1)
h = F.relu(F.batch_norm(h, torch.zeros(4), torch.ones(4), g1, be1, training=True))
h = F.max_pool2d(h, 2)
h = F.conv2d(h, w2, b2, padding=1)
h = F.relu(F.batch_norm(h, torch.zeros(5), torch.ones(5), g2, be2, training=True))
pooled = torch.stack([h[n, :, :, :valid[n]].mean(dim=(1, 2)) for n in range(3)])
out = F.linear(pooled, wl, bl)
labels = [1, 4, 6]
targets = torch.full((3, 7), 0.2 / 7)
for n, label in enumerate(labels):
    targets[n, label] += 0.8
alpha = out ** 2 + 1e-6
loss = -torch.distributions.Dirichlet(alpha).log_prob(targets).mean()
case("compactNetwork",
     {"x": x, "w1": w1, "b1": b1, "g1": g1, "be1": be1, "w2": w2, "b2": b2, "g2": g2, "be2": be2, "wl": wl, "bl": bl},
     loss, {"validWidths": valid, "targets": targets.tolist()})

# AdamW: three steps with given gradients and learning rates, decay on one parameter only
w0 = torch.tensor(torch.randn(2, 3).numpy().round(6))
b0 = torch.tensor(torch.randn(3).numpy().round(6))
w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
optimizer = torch.optim.AdamW([{"params": [w], "weight_decay": 0.01}, {"params": [b], "weight_decay": 0.0}],
                               lr=1.0, betas=(0.9, 0.999), eps=1e-8)
steps = []
for rate in [0.01, 0.02, 0.005]:
    gw = torch.tensor(torch.randn(2, 3).numpy().round(6))
    gb = torch.tensor(torch.randn(3).numpy().round(6))
    for group in optimizer.param_groups:
        group["lr"] = rate
    w.grad, b.grad = gw.clone(), gb.clone()
    optimizer.step()
    steps.append({"rate": rate, "gradients": {"w": pack(gw), "b": pack(gb)},
                  "after": {"w": pack(w), "b": pack(b)}})
adamw_reference = {"initial": {"w": pack(w0), "b": pack(b0)}, "steps": steps}

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
path = os.path.join(root, "Fixtures", "training", "autograd-reference.json")
with open(path, "w", newline="\n") as f:
    json.dump({"generator": "scripts/make_training_reference.py", "torch": torch.__version__, "cases": cases,
               "adamw": adamw_reference}, f,
              indent=None, separators=(",", ":"))
    f.write("\n")
print("wrote", path, len(cases), "cases")


# --- the compact model: a tiny random one, saved as a model directory, with PyTorch's outputs
import sys

import numpy as np
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compact_model_torch as cm  # noqa: E402

torch.set_default_dtype(torch.float32)
torch.manual_seed(7)
tiny = os.path.join(root, "Fixtures", "training", "compact-tiny")
os.makedirs(tiny, exist_ok=True)
config = {
    "model_type": "emobake-compact", "format_version": 1,
    "emotions": ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"],
    "sample_rate": 16000, "head": "dirichlet", "softmax_concentration": 10, "channels": [4, 6, 8],
    "convolutions_per_block": [1, 2, 1], "dropout": 0.3,
    "features": {"fft_size": 512, "window_length": 400, "hop_length": 160, "mel_bins": 24, "min_frequency": 20,
                 "max_frequency": 8000, "log_floor": 1e-6, "trim_decibels": 40, "trim_margin": 0.15},
}
model = cm.CompactNet(config)
with torch.no_grad():  # non-trivial batch-norm statistics and affine parameters
    for name, tensor in model.state_dict().items():
        if name.endswith("running_mean") or name.endswith("norm.bias"):
            tensor.copy_(torch.randn_like(tensor) * 0.2)
        elif name.endswith("running_var") or name.endswith("norm.weight"):
            tensor.copy_(torch.rand_like(tensor) + 0.5)
        elif name == "classifier.bias":
            tensor.copy_(torch.randn_like(tensor) * 0.5 + 1)
model.eval()
state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
# One metadata key: safetensors writes metadata in hash order, so two keys would make the bytes vary.
save_file(state, os.path.join(tiny, "model.safetensors"), metadata={"format": "pt"})
with open(os.path.join(tiny, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")


def test_signal(count):
    """Silence, a two-tone burst with a deterministic buzz, silence (same formula in the Swift test)."""
    n = np.arange(count)
    tone = 0.5 * np.sin(2 * np.pi * 440 * n / 16000) + 0.25 * np.sin(2 * np.pi * 3000 * n / 16000 + 0.3)
    buzz = 0.02 * (((n * 7919) % 101) - 50) / 50.0
    envelope = ((n >= count // 4) & (n < 3 * count // 4)).astype(np.float64)
    return ((tone + buzz) * envelope + 0.0005 * np.sin(2 * np.pi * 50 * n / 16000)).astype(np.float32)


signals = {}
for count in [8000, 19200, 2000]:
    samples = test_signal(count)
    x, frames = cm.clip_input(samples, config)
    with torch.no_grad():
        outputs = model(x, [frames])
    lo, hi = cm.speech_range(samples, config)
    signals[str(count)] = {"speechRange": [int(lo), int(hi)], "frames": frames,
                           "features": [float("%.7g" % v) for v in x[0, 0].reshape(-1).tolist()],
                           "featureShape": list(x[0, 0].shape),
                           "outputs": [float("%.9g" % v) for v in outputs[0].tolist()],
                           "alpha": [float("%.9g" % v) for v in cm.alpha(config, outputs)[0].tolist()]}
with open(os.path.join(tiny, "reference.json"), "w", newline="\n") as f:
    json.dump({"generator": "scripts/make_training_reference.py", "signals": signals}, f, separators=(",", ":"))
    f.write("\n")
print("wrote", tiny)
