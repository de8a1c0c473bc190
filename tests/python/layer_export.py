"""Exports a kb layer with mitreattack-python's exporters, from a local bundle (no network).

    layer_export.py LAYER BUNDLE DOMAIN xlsx|svg OUT

DOMAIN is enterprise, mobile or ics. Prints JSON with the size of the file written.
"""

import json
import os
import sys

from mitreattack.navlayers import Layer, ToExcel, ToSvg


def main():
    layer_path, bundle, domain, kind, out = sys.argv[1:6]
    layer = Layer()
    layer.from_file(layer_path)
    if isinstance(layer.layer, str):
        sys.exit("the layer did not load")
    if kind == "xlsx":
        ToExcel(domain=domain, source="local", resource=bundle).to_xlsx(layer, filepath=out)
    else:
        ToSvg(domain=domain, source="local", resource=bundle).to_svg(layer, filepath=out)
    json.dump({"bytes": os.path.getsize(out)}, sys.stdout)


main()
