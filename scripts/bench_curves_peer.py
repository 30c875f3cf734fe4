#!/usr/bin/env python3
"""NumPy/SciPy peer of the Curves dense pipeline, for scripts/bench_curves.

Same input (the benchmark's synthetic track, dumped as float64 mixtures), same steps as
ClipBuilder.denseCurves with the film preset: mixture @ rig weights, clamp to [0, 1],
Gaussian (sigma 0.06 s, truncated at 3 sigma) on the track's 50 fps frames, clamp,
linear interpolation onto the output frames n / fps. Edges differ (SciPy pads with the
nearest value, we renormalise the cut kernel), which moves the checksum slightly.

usage: bench_curves_peer.py MIXTURES.bin RIG.json --emotions a,b,c --rate 50 --fps 30 --sigma 0.06 --repeat 3
"""
import argparse
import json
import resource
import time

import numpy as np
from scipy.ndimage import gaussian_filter1d


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mixtures")
    parser.add_argument("rig")
    parser.add_argument("--emotions", required=True)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--sigma", type=float, default=0.06)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    emotions = args.emotions.split(",")
    mixtures = np.fromfile(args.mixtures, dtype="<f8").reshape(-1, len(emotions))
    with open(args.rig) as handle:
        rig = json.load(handle)
    channels = rig["blendshapes"]
    weights = np.zeros((len(emotions), len(channels)))
    for entry in rig["emotions"]:
        if entry["emotion"] in emotions:
            for weight in entry["weights"]:
                weights[emotions.index(entry["emotion"]), channels.index(weight["blendshape"])] = weight["weight"]

    frames = mixtures.shape[0]
    track_times = np.arange(frames) / args.rate
    last = int(np.floor(track_times[-1] * args.fps + 1e-9))
    output_times = np.arange(last + 1) / args.fps
    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        dense = np.clip(mixtures @ weights, 0, 1)                                   # (frames, channels)
        dense = gaussian_filter1d(dense, args.sigma * args.rate, axis=0, mode="nearest", truncate=3.0)
        np.clip(dense, 0, 1, out=dense)
        index = np.searchsorted(track_times, output_times, side="right") - 1
        index = np.clip(index, 0, frames - 2)
        fraction = ((output_times - track_times[index]) / (track_times[index + 1] - track_times[index]))[:, None]
        output = dense[index] + (dense[index + 1] - dense[index]) * fraction       # (output frames, channels)
        timings.append(time.perf_counter() - start)
    timings.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("numpy %s scipy %s: dense pipeline min %.3f s, median %.3f s over %d runs; %d frames x %d channels"
          % (np.__version__, __import__("scipy").__version__, timings[0], timings[len(timings) // 2], len(timings),
             output.shape[0], output.shape[1]))
    print("dense checksum: %.3f" % output.sum())
    print("peak RSS: %.1f MB" % peak)


if __name__ == "__main__":
    main()
