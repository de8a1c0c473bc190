#!/usr/bin/env bash
# Installs the real Python clients the ecosystem tests use (TAXII, STIX, Navigator layers, MCP)
# into <checkout>/.venv from tests/python/requirements.txt. Does nothing when that file has not
# changed since the last install. Tests find the interpreter at .venv/bin/python (or $KB_PYTHON).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/tests/python/requirements.txt"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
echo "$want" >"$stamp"
