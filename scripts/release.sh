#!/usr/bin/env bash
# Builds the release binaries of modelreg without cgo (CGO_ENABLED=0; the
# SQLite driver is pure Go: static on linux, only libSystem on darwin) for
# linux and darwin on amd64 and arm64, each
# stamped with its version, commit and build date, and a SHA256SUMS file.
#
#   scripts/release.sh [VERSION]     # default: git describe --tags --always --dirty
#
# Output: dist/modelreg_<VERSION>_<os>_<arch> and dist/SHA256SUMS.
# Verify a download with: sha256sum --check --ignore-missing SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
	commit="$commit-dirty"
fi
# The commit's time, so that a rebuild of the same commit is identical.
date=$(git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || TZ=UTC date +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/modelreg/modelreg/internal/cli
ldflags="-s -w -X $pkg.buildVersion=$version -X $pkg.buildCommit=$commit -X $pkg.buildDate=$date"
platforms=${PLATFORMS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"}

rm -rf dist
mkdir -p dist
for p in $platforms; do
	os=${p%/*} arch=${p#*/}
	out="dist/modelreg_${version}_${os}_${arch}"
	echo "building $out"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out" ./cmd/modelreg
done
(cd dist && sha256sum modelreg_* > SHA256SUMS)
cat dist/SHA256SUMS
