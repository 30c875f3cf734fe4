"""Makes a character rig the way artists do: a mesh with shape keys, exported by Blender's
own glTF exporter (which writes the names to mesh.extras.targetNames).

usage: blender -b --factory-startup --python blender_make_rig.py -- OUT.glb NAME...

The object is called "Head"; shape key i lifts every fifth vertex (offset i) by 0.1.
"""
import sys

import numpy

numpy.bool = bool  # Debian's numpy dropped the alias Blender 3.4's glTF add-on uses.

import bpy  # noqa: E402

arguments = sys.argv[sys.argv.index("--") + 1:]
output, names = arguments[0], arguments[1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_uv_sphere_add(segments=16, ring_count=8)
head = bpy.context.active_object
head.name = "Head"
head.shape_key_add(name="Basis")
for index, name in enumerate(names):
    key = head.shape_key_add(name=name)
    for vertex, point in enumerate(key.data):
        if vertex % 5 == index % 5:
            point.co.z += 0.1
bpy.ops.export_scene.gltf(filepath=output, export_format="GLB")
