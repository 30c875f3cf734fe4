"""Loads a file with assimp 5.2 through the raw ctypes structs of Debian's pyassimp
(pyassimp.load crashes on these files) and prints its blend-shape (morph) animation.

usage: /usr/bin/python3 read_fbx_assimp.py FILE

Prints one JSON line: {"ticksPerSecond": float, "duration": float, "meshes": [{"name",
"animMeshes": [names]}], "channels": [{"name", "keys": [{"time": seconds, "values":
[anim-mesh index, ...], "weights": [...]}]}]}
"""
import ctypes
import json
import os
import sys

from pyassimp import helper, structs

path = sys.argv[1]
load, _, _, _, release, _ = helper.search_library()
scene_pointer = load(path.encode(), 0)
if not scene_pointer:
    print(json.dumps({"error": "assimp could not load " + path}))
    sys.stdout.flush()
    os._exit(1)
scene = scene_pointer.contents


def text(value):
    return bytes(value.data[:value.length]).decode("utf-8", "replace")


meshes = []
for m in range(scene.mNumMeshes):
    mesh = scene.mMeshes[m].contents
    meshes.append({
        "name": text(mesh.mName),
        "animMeshes": [text(mesh.mAnimMeshes[a].contents.mName) for a in range(mesh.mNumAnimMeshes)],
    })

result = {"meshes": meshes, "channels": []}
if scene.mNumAnimations > 0:
    animation = scene.mAnimations[0].contents
    ticks = animation.mTicksPerSecond or 1.0
    result["ticksPerSecond"] = animation.mTicksPerSecond
    result["duration"] = animation.mDuration
    for c in range(animation.mNumMorphMeshChannels):
        channel = animation.mMorphMeshChannels[c].contents
        keys = []
        for k in range(channel.mNumKeys):
            key = channel.mKeys[k]
            count = key.mNumValuesAndWeights
            keys.append({
                "time": key.mTime / ticks,
                "values": [key.mValues[i] for i in range(count)],
                "weights": [key.mWeights[i] for i in range(count)],
            })
        result["channels"].append({"name": text(channel.mName), "keys": keys})
print(json.dumps(result))
sys.stdout.flush()
release(scene_pointer)
os._exit(0)
