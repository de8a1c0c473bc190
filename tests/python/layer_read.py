"""Reads kb's Navigator layers with mitreattack-python's navlayers, the reference reader.

    layer_read.py FILE...              each file with Layer.from_file
    layer_read.py --url URL ORIGIN     fetches a layer as Navigator's #layerURL= does in a
                                       browser (urllib: the CORS preflight of a public page
                                       calling a private address, then the GET with an Origin
                                       header) and reads it with Layer.from_str

Prints JSON: what the reader kept of each layer (name, domain, versions, every technique's ID,
tactic, score and comment) and what it said while reading (it prints, and drops, what it
cannot read). Exits non-zero when a layer does not load.
"""

import contextlib
import io
import json
import sys
import urllib.request

from mitreattack.navlayers import Layer


def read(path=None, text=None):
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        layer = Layer()
        if path is not None:
            layer.from_file(path)
        else:
            layer.from_str(text)
    obj = layer.layer
    if isinstance(obj, str):
        sys.exit(f"the layer did not load: {said.getvalue()}")
    return {
        "name": obj.name,
        "domain": obj.domain,
        "description": obj.description,
        "versions": obj.versions.get_dict(),
        "sorting": obj.sorting,
        "gradient": obj.gradient.get_dict() if obj.gradient else None,
        "metadata": [m.get_dict() for m in obj.metadata or []],
        "links": [link.get_dict() for link in obj.links or []],
        "techniques": [
            {
                "id": t.techniqueID,
                "tactic": t.tactic,
                "score": t.score,
                "comment": t.comment,
                "show_subtechniques": t.showSubtechniques,
                "metadata": [m.get_dict() for m in t.metadata or []],
            }
            for t in obj.techniques or []
        ],
        "keys": sorted(layer.to_dict().keys()),
        "said": said.getvalue(),
    }


def main():
    if sys.argv[1] == "--url":
        url, origin = sys.argv[2], sys.argv[3]
        preflight = urllib.request.Request(
            url,
            method="OPTIONS",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Private-Network": "true",
            },
        )
        with urllib.request.urlopen(preflight, timeout=30) as resp:
            allowed = {
                "status": resp.status,
                "allow_origin": resp.headers.get("Access-Control-Allow-Origin"),
                "allow_private_network": resp.headers.get("Access-Control-Allow-Private-Network"),
            }
        req = urllib.request.Request(url, headers={"Origin": origin})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read().decode("utf-8")
            out = {
                "status": resp.status,
                "allow_origin": resp.headers.get("Access-Control-Allow-Origin"),
                "content_type": resp.headers.get("Content-Type"),
                "preflight": allowed,
                "layer": read(text=body),
            }
    else:
        out = [read(path=p) for p in sys.argv[1:]]
    json.dump(out, sys.stdout, ensure_ascii=False)


main()
