"""Loads an FBX with ufbx and evaluates every blend-shape channel's weight at given times.

usage: read_fbx_ufbx.py FILE TIMES_JSON

Prints one JSON line: {"timeMode": int, "framesPerSecond": float, "channels": [names],
"weights": [[weight (0-1) per time] per channel], "keyTimes": [[seconds per key] per curve]}
scene.blend_channels is indexed by position (iterating it crashes ufbx's binding), and the
script leaves with os._exit after printing: tearing the scene down segfaults at exit.
"""
import json
import os
import sys

import ufbx

path, times = sys.argv[1], json.loads(sys.argv[2])
scene = ufbx.load_file(path)
anim = scene.anim
channel_count = len(scene.blend_channels)
names = []
weights = []
for index in range(channel_count):
    channel = scene.blend_channels[index]
    names.append(channel.name)
    weights.append([ufbx.evaluate_blend_weight(anim, channel, t) for t in times])
key_times = []
for index in range(len(scene.anim_curves)):
    curve = scene.anim_curves[index]
    key_times.append([curve.keyframes[k].time for k in range(len(curve.keyframes))])
print(json.dumps({
    "timeMode": int(scene.settings.time_mode),
    "framesPerSecond": scene.settings.frames_per_second,
    "channels": names,
    "weights": weights,
    "keyTimes": key_times,
}))
sys.stdout.flush()
os._exit(0)
