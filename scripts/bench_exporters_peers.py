"""Peers for scripts/bench_exporters: Python libraries writing the same content EmoBake wrote.

usage: python3 scripts/bench_exporters_peers.py DIR   (DIR holds benchmark.csv/.glb/.xml)

Each peer first reads EmoBake's file (not timed), then writes it again (timed): pandas
DataFrame.to_csv with six decimals, pygltflib GLTF2.save_binary, ElementTree.write. Peak RSS
is the Python process's after all three.
"""
import os
import resource
import sys
import time
import xml.etree.ElementTree as ElementTree

import pandas
import pygltflib

directory = sys.argv[1]
scratch = os.path.join(directory, "peers")
os.makedirs(scratch, exist_ok=True)


def timed(label, write, path):
    wall, cpu = time.perf_counter(), time.process_time()
    write()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<28} {wall:.3f} s wall, {cpu:.3f} s cpu: {os.path.getsize(path)} bytes")


table = pandas.read_csv(os.path.join(directory, "benchmark.csv"))
csv_path = os.path.join(scratch, "benchmark.csv")
timed("csv  pandas to_csv", lambda: table.to_csv(csv_path, index=False, float_format="%.6f"), csv_path)
del table

gltf = pygltflib.GLTF2().load(os.path.join(directory, "benchmark.glb"))
glb_path = os.path.join(scratch, "benchmark.glb")
timed("glb  pygltflib save_binary", lambda: gltf.save_binary(glb_path), glb_path)
del gltf

tree = ElementTree.parse(os.path.join(directory, "benchmark.xml"))
xml_path = os.path.join(scratch, "benchmark.xml")
timed("xml  ElementTree write", lambda: tree.write(xml_path, encoding="UTF-8", xml_declaration=True), xml_path)
print(f"peak RSS (peers, after all three) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
