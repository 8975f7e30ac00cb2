#!/usr/bin/env bash
# Re-fetch the explorer's vendored JavaScript from the npm registry (no CDN at run time).
# Usage: scripts/vendor_js.sh [VERSION]   (default: the newest cytoscape 3.x)
# Writes tgsweep/explorer/static/vendor/{cytoscape.min.js, LICENSE.cytoscape, PROVENANCE}.
set -euo pipefail
cd "$(dirname "$0")/.."
spec="cytoscape@${1:-3}"
dest="tgsweep/explorer/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$spec" > tarball && tar xzf "$(cat tarball)")
version="$(node -p "require('$work/package/package.json').version")"
tarball="$(cat "$work/tarball")"
mkdir -p "$dest"
cp "$work/package/dist/cytoscape.min.js" "$dest/cytoscape.min.js"
cp "$work/package/LICENSE" "$dest/LICENSE.cytoscape"
cat > "$dest/PROVENANCE" <<INFO
cytoscape.min.js: cytoscape ${version} (MIT, see LICENSE.cytoscape), file dist/cytoscape.min.js of the npm
package ${tarball} (registry https://registry.npmjs.org/cytoscape), fetched $(date -u +%Y-%m-%d) by
scripts/vendor_js.sh; sha256 $(sha256sum "$dest/cytoscape.min.js" | cut -d' ' -f1)
tarball sha256 $(sha256sum "$work/$tarball" | cut -d' ' -f1)
INFO
echo "vendored cytoscape ${version} into ${dest}"
