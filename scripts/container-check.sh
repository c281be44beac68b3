#!/usr/bin/env bash
# Builds deploy/Containerfile with buildah (Debian's package; FROM scratch
# pulls nothing, so this works offline) from a static linux binary, then
# checks the image: its user, volume and entrypoint, and that the binary
# runs in the image's root filesystem as the image's user and serves
# /healthz on the volume. No container runtime is needed: the root
# filesystem is mounted and entered with chroot. Run as root.
#
#   scripts/container-check.sh [BINARY]    # default: builds one into a temp dir
set -euo pipefail
cd "$(dirname "$0")/.."

command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah)" >&2; exit 1; }
work=$(mktemp -d)
ctr=
cleanup() {
	[ -n "$ctr" ] && { buildah --storage-driver vfs umount "$ctr" >/dev/null 2>&1 || true; buildah --storage-driver vfs rm "$ctr" >/dev/null 2>&1 || true; }
	buildah --storage-driver vfs rmi -f modelreg-check >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

bin=${1:-}
if [ -z "$bin" ]; then
	bin=dist/modelreg_check_linux_amd64
	mkdir -p dist
	CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$bin" ./cmd/modelreg
fi
buildah --storage-driver vfs bud -q -f deploy/Containerfile --build-arg BINARY="$bin" -t modelreg-check . >/dev/null

cfg=$(buildah --storage-driver vfs inspect --type image --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Volumes}} {{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}}' modelreg-check)
echo "image config: $cfg"
[ "$cfg" = "65532:65532 map[/data:{}] [/modelreg] [serve]" ] || { echo "unexpected image config" >&2; exit 1; }

ctr=$(buildah --storage-driver vfs from modelreg-check)
root=$(buildah --storage-driver vfs mount "$ctr")
echo "image files:"; (cd "$root" && find . -mindepth 1 -printf '  %M %u:%g %p\n')
[ "$(stat -c %u:%g "$root/data")" = "65532:65532" ] || { echo "/data is not owned by 65532" >&2; exit 1; }

chroot --userspec=65532:65532 "$root" /modelreg version
# Serve from the image's root as its user, on its data dir, and probe it.
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin MODELREG_DATA_DIR=/data MODELREG_ADDR=127.0.0.1:18181 MODELREG_LOG_FORMAT=json \
	chroot --userspec=65532:65532 "$root" /modelreg serve >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.2; done
health=$(curl -fsS http://127.0.0.1:18181/healthz || true)
kill "$pid" 2>/dev/null || true; wait "$pid" || true
echo "healthz: $health"
[ "$health" = '{"status":"ok"}' ] || { echo "the server in the image did not answer; its log:" >&2; cat "$work/out" "$work/err" >&2; exit 1; }
ls -l "$root/data"
echo "container check passed"
