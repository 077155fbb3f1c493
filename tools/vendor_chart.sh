#!/bin/sh
# Refreshes the dashboard's vendored chart library from npm: uPlot's built IIFE file, its
# stylesheet and its licence, into ingest_service/static/dashboard/vendor/uplot/.
# The service never fetches anything at run time; this runs only when a person upgrades.
#
#   tools/vendor_chart.sh            # the pinned version
#   tools/vendor_chart.sh 1.6.33     # another one (then update the pin below and the README)
set -eu

VERSION="${1:-1.6.32}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/ingest_service/static/dashboard/vendor/uplot"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "uplot@$VERSION" > packed.txt
tar -xzf "$(tail -n 1 packed.txt)"
test "$(node -p 'require("./package/package.json").version')" = "$VERSION"

mkdir -p "$TARGET"
cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE "$TARGET/"
INTEGRITY="$(npm view "uplot@$VERSION" dist.integrity)"
printf 'uplot %s from npm (%s)\nfiles: dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE\n' \
    "$VERSION" "$INTEGRITY" > "$TARGET/VERSION"
echo "vendored uplot $VERSION into $TARGET"
