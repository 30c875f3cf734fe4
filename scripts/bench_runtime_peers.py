#!/usr/bin/env python3
"""Times a peer engine on the benchmark model, the same way `emobake bench-runtime` times ours:
batch 1, random clip of each length, one warm-up run, median of --repeat runs, peak RSS.

    python3 scripts/bench_runtime_peers.py --engine torch|ort --folder DIR --seconds 5 --repeat 5 --threads 2

DIR is what `scripts/make_reference_models.py --benchmark DIR` made: DIR/model (config.json +
model.safetensors with the backbone under `wav2vec2.`) and DIR/model.onnx (the same weights).
Prints one JSON object per length.
"""
import argparse
import json
import os
import resource
import time

import numpy as np


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def torch_runner(folder, threads):
    import torch
    from safetensors.torch import load_file
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    with open(os.path.join(folder, "model", "config.json")) as handle:
        config = Wav2Vec2Config(**json.load(handle))
    model = Wav2Vec2Model(config).eval()
    state = load_file(os.path.join(folder, "model", "model.safetensors"))
    state = {k[len("wav2vec2."):]: v for k, v in state.items() if k.startswith("wav2vec2.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("masked_spec_embed" in k for k in missing), (missing, unexpected)

    def run(samples):
        with torch.inference_mode():
            return model(torch.from_numpy(samples)[None]).last_hidden_state

    return run


def ort_runner(folder, threads):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(os.path.join(folder, "model.onnx"), options, providers=["CPUExecutionProvider"])

    def run(samples):
        return session.run(None, {"input_values": samples[None]})[0]

    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["torch", "ort"], required=True)
    parser.add_argument("--folder", required=True)
    parser.add_argument("--seconds", type=float, action="append")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    start = time.perf_counter()
    run = (torch_runner if arguments.engine == "torch" else ort_runner)(arguments.folder, arguments.threads)
    load_seconds = time.perf_counter() - start
    generator = np.random.default_rng(1)
    for seconds in arguments.seconds or [1, 5, 10, 30]:
        samples = generator.uniform(-0.5, 0.5, int(seconds * 16000)).astype(np.float32)
        run(samples)
        times = []
        for _ in range(arguments.repeat):
            begin = time.perf_counter()
            run(samples)
            times.append((time.perf_counter() - begin) * 1000)
        times.sort()
        median = times[len(times) // 2]
        print(json.dumps({
            "engine": "pytorch" if arguments.engine == "torch" else "onnxruntime", "seconds": seconds,
            "median_ms": round(median, 2), "min_ms": round(times[0], 2), "ms_per_audio_second": round(median / seconds, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1), "load_s": round(load_seconds, 2), "threads": arguments.threads,
        }), flush=True)


if __name__ == "__main__":
    main()
