"""Reads an EmoBake CSV back with pandas and prints it as one JSON line.

usage: read_csv.py FILE LAYOUT      (LAYOUT: wide | long | unreal)

wide   -> {"channels": [...], "frame": [...], "time": [...], "values": [[row of channel values], ...]}
long   -> {"time": [...], "channel": [...], "value": [...]}
unreal -> {"channels": [...], "times": [...], "values": [[curve values per time], ...]}
"""
import json
import sys

import pandas

path, layout = sys.argv[1], sys.argv[2]
if layout == "wide":
    table = pandas.read_csv(path)
    channels = [c for c in table.columns if c not in ("frame", "time")]
    result = {
        "channels": channels,
        "frame": [int(v) for v in table["frame"]],
        "time": [float(v) for v in table["time"]],
        "values": [[float(table.loc[row, c]) for c in channels] for row in table.index],
    }
elif layout == "long":
    table = pandas.read_csv(path)
    result = {
        "time": [float(v) for v in table["time"]],
        "channel": [str(v) for v in table["channel"]],
        "value": [float(v) for v in table["value"]],
    }
elif layout == "unreal":
    table = pandas.read_csv(path, index_col="Name")
    result = {
        "channels": [str(v) for v in table.index],
        "times": [float(c) for c in table.columns],
        "values": [[float(table.loc[name, c]) for c in table.columns] for name in table.index],
    }
else:
    sys.exit("unknown layout " + layout)
print(json.dumps(result))
