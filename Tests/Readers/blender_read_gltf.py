"""Imports glTF/GLB files into Blender and evaluates the shape-key curves it made.

usage: blender -b --factory-startup --python blender_read_gltf.py -- REQUESTS.json

REQUESTS.json: [{"file": "a.glb", "fps": 30, "fpsBase": 1.0, "times": [seconds, ...]}, ...]
Each file is imported into an empty scene whose frame rate is fps / fpsBase. Blender's glTF
importer places a key at frame time * scene.render.fps (it ignores fps_base), so the curves
are evaluated at those frames.

Prints one JSON line: {"results": [{"file": ..., "curves": {"<action>/<shape key>":
[value at each time]}, "keyFrames": {"<action>/<shape key>": [frame of each key]}}]};
the importer names an action "<animation>_<object>".
"""
import json
import sys

import numpy

numpy.bool = bool  # Debian's numpy dropped the alias Blender 3.4's importer uses.

import bpy  # noqa: E402

requests = json.load(open(sys.argv[sys.argv.index("--") + 1]))
results = []
for request in requests:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = int(request["fps"])
    scene.render.fps_base = float(request.get("fpsBase", 1.0))
    bpy.ops.import_scene.gltf(filepath=request["file"])
    curves = {}
    key_frames = {}
    for action in bpy.data.actions:
        for fcurve in action.fcurves:
            path = fcurve.data_path
            if not path.startswith('key_blocks["'):
                continue
            name = path[len('key_blocks["'):path.rindex('"]')]
            label = action.name + "/" + name
            curves[label] = [fcurve.evaluate(t * scene.render.fps) for t in request["times"]]
            key_frames[label] = [point.co[0] for point in fcurve.keyframe_points]
    results.append({"file": request["file"], "curves": curves, "keyFrames": key_frames})
print(json.dumps({"results": results}))
sys.stdout.flush()
