"""Reads a glTF/GLB with pygltflib, decodes the accessors and evaluates every `weights`
channel of the first animation at the given times, following the glTF 2.0 spec's sampler
rules (LINEAR, STEP, CUBICSPLINE per Appendix C; clamped outside the input range).
Only the standard library and pygltflib: the evaluation is written from the spec here.

usage: read_gltf.py FILE TIMES_JSON [ANIMATION]
  TIMES_JSON: a JSON list of seconds; ANIMATION: the animation's name (default: the first)

Prints one JSON line: {"channels": [{"node", "mesh", "targetNames", "interpolation",
"input", "inputMin", "inputMax", "values": [[weight per target] per time]}],
"accessors": [{"index", "byteOffset", "componentType", "count", "type", "hasMinMax"}],
"bufferViews": [{"byteOffset"}], "meshWeights": [...], "animationExtras": {...}}
"""
import json
import os
import struct
import sys

import pygltflib

path, times = sys.argv[1], json.loads(sys.argv[2])
wanted = sys.argv[3] if len(sys.argv) > 3 else None
gltf = pygltflib.GLTF2().load(path)

buffers = []
for buffer in gltf.buffers:
    if buffer.uri is None:
        buffers.append(gltf.binary_blob())
    else:
        with open(os.path.join(os.path.dirname(path), buffer.uri), "rb") as handle:
            buffers.append(handle.read())

COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
FORMATS = {5126: ("f", 4), 5123: ("H", 2), 5125: ("I", 4), 5121: ("B", 1)}


def decode(index):
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    data = buffers[view.buffer]
    code, size = FORMATS[accessor.componentType]
    width = COMPONENTS[accessor.type]
    start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
    stride = view.byteStride or size * width
    rows = []
    for row in range(accessor.count):
        offset = start + row * stride
        rows.append(list(struct.unpack_from("<" + code * width, data, offset)))
    return rows


def evaluate(interpolation, inputs, outputs, count, t):
    """Weights at time t for a sampler with `count` targets. Like an engine, time is float32,
    so a query at a key time lands exactly on the (float32) key."""
    t = struct.unpack("<f", struct.pack("<f", t))[0]
    n = len(inputs)
    if interpolation == "CUBICSPLINE":
        value = lambda k: outputs[(3 * k + 1) * count:(3 * k + 2) * count]
        out_tangent = lambda k: outputs[(3 * k + 2) * count:(3 * k + 3) * count]
        in_tangent = lambda k: outputs[3 * k * count:(3 * k + 1) * count]
    else:
        value = lambda k: outputs[k * count:(k + 1) * count]
    if t <= inputs[0]:
        return value(0)
    if t >= inputs[-1]:
        return value(n - 1)
    k = max(i for i in range(n - 1) if inputs[i] <= t)
    td = inputs[k + 1] - inputs[k]
    s = (t - inputs[k]) / td
    if interpolation == "STEP":
        return value(k)
    if interpolation == "LINEAR":
        return [a + s * (b - a) for a, b in zip(value(k), value(k + 1))]
    s2, s3 = s * s, s * s * s
    return [
        (2 * s3 - 3 * s2 + 1) * vk + td * (s3 - 2 * s2 + s) * bk + (-2 * s3 + 3 * s2) * vk1 + td * (s3 - s2) * ak1
        for vk, bk, vk1, ak1 in zip(value(k), out_tangent(k), value(k + 1), in_tangent(k + 1))
    ]


channels = []
animation = next(a for a in gltf.animations if wanted is None or a.name == wanted)
for channel in animation.channels:
    if channel.target.path != "weights":
        continue
    node = gltf.nodes[channel.target.node]
    mesh = gltf.meshes[node.mesh]
    names = (mesh.extras or {}).get("targetNames", [])
    count = len(mesh.primitives[0].targets)
    sampler = animation.samplers[channel.sampler]
    inputs = [row[0] for row in decode(sampler.input)]
    outputs = [row[0] for row in decode(sampler.output)]
    input_accessor = gltf.accessors[sampler.input]
    channels.append({
        "node": channel.target.node,
        "mesh": node.mesh,
        "targetNames": names,
        "interpolation": sampler.interpolation,
        "input": inputs,
        "inputMin": input_accessor.min,
        "inputMax": input_accessor.max,
        "outputCount": gltf.accessors[sampler.output].count,
        "values": [evaluate(sampler.interpolation, inputs, outputs, count, t) for t in times],
    })

accessors = []
for index, accessor in enumerate(gltf.accessors):
    view = gltf.bufferViews[accessor.bufferView]
    accessors.append({
        "index": index,
        "byteOffset": (view.byteOffset or 0) + (accessor.byteOffset or 0),
        "componentType": accessor.componentType,
        "count": accessor.count,
        "type": accessor.type,
        "hasMinMax": accessor.min is not None and accessor.max is not None,
    })
print(json.dumps({
    "channels": channels,
    "accessors": accessors,
    "bufferViews": [{"byteOffset": view.byteOffset or 0} for view in gltf.bufferViews],
    "meshWeights": [mesh.weights for mesh in gltf.meshes],
    "animationExtras": animation.extras,
    "animationNames": [a.name for a in gltf.animations],
    "images": [{"uri": image.uri, "bufferView": image.bufferView, "mimeType": image.mimeType} for image in gltf.images],
}))
