#!/usr/bin/env python3
"""Checks EmoBake's runtime against PyTorch on the full-size benchmark model: the last hidden
state of a random clip (with a DC offset, so that the first layer's normalisation has a mean to
remove), computed by `emobake bench-runtime --save-outputs` and by transformers on the clip
EmoBake saved. Prints the largest absolute difference and the largest value; exits 1 when the
difference is over --tolerance.

    python3 scripts/check_runtime_numerics.py                 # 10 s clip, 2 threads
    python3 scripts/check_runtime_numerics.py --seconds 30 --threads 1
    EMOBAKE_AMX=1 python3 scripts/check_runtime_numerics.py   # long products on AMX

Needs `pip install torch==2.13.0 transformers safetensors` and the benchmark model
(scripts/bench_runtime makes it in .build/bench-runtime the first time).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default=os.path.join(ROOT, ".build", "bench-runtime"), help="benchmark model folder (holds model/)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dc-offset", type=float, default=0.3)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    arguments = parser.parse_args()
    model_folder = os.path.join(arguments.folder, "model")
    if not os.path.exists(os.path.join(model_folder, "model.safetensors")):
        sys.exit(f"{model_folder}: no benchmark model; run scripts/bench_runtime once (it makes it)")
    binary = os.path.join(ROOT, ".build", "release", "emobake")
    subprocess.run(["swift", "build", "-c", "release", "--product", "emobake"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)

    import torch
    from safetensors.numpy import load_file as load_numpy
    from safetensors.torch import load_file
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([binary, "bench-runtime", "--model", model_folder, "--seconds", str(arguments.seconds), "--repeat", "1",
                        "-j", str(arguments.threads), "--dc-offset", str(arguments.dc_offset), "--save-outputs", scratch],
                       check=True, stdout=subprocess.DEVNULL)
        name = f"{arguments.seconds:.3f}".rstrip("0").rstrip(".") + "s.safetensors"
        saved = load_numpy(os.path.join(scratch, name))
        samples, ours = saved["input"], saved["last_hidden_state"]

    torch.set_num_threads(arguments.threads)
    with open(os.path.join(model_folder, "config.json")) as handle:
        config = Wav2Vec2Config(**json.load(handle))
    model = Wav2Vec2Model(config).eval()
    state = load_file(os.path.join(model_folder, "model.safetensors"))
    model.load_state_dict({k[len("wav2vec2."):]: v for k, v in state.items() if k.startswith("wav2vec2.")}, strict=False)
    with torch.inference_mode():
        theirs = model(torch.from_numpy(samples)[None]).last_hidden_state[0].numpy()
    if ours.shape != theirs.shape:
        sys.exit(f"shape mismatch: EmoBake gave {ours.shape}, PyTorch {theirs.shape}")
    difference = float(np.abs(ours.astype(np.float64) - theirs).max())
    print(f"{arguments.seconds:g} s clip (DC offset {arguments.dc_offset:g}), {theirs.shape[0]} frames x {theirs.shape[1]}, "
          f"{arguments.threads} threads, EMOBAKE_AMX={os.environ.get('EMOBAKE_AMX', '(unset)')}: "
          f"largest |EmoBake - PyTorch| {difference:.3g}, largest |value| {float(np.abs(theirs).max()):.3g}")
    if not difference <= arguments.tolerance:
        print(f"over the tolerance {arguments.tolerance:g}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
