#!/bin/bash
# record.sh: record what a real dockerd answers for the image API, on the
# shared fixtures, so cmd/berth/e2e_dockerd_test.go can compare Berth with it
# field by field.
#
#   testvm/dockerd/record.sh                        record into testdata/
#   testvm/dockerd/record.sh --roundtrip SAVE.tar   also docker load SAVE.tar (a
#                                                   `berth save` archive) into a
#                                                   dockerd with no images and
#                                                   record the IDs and layers it
#                                                   gets, into testdata/roundtrip/
#
# Root, Debian (bookworm). It installs Debian's docker.io (dockerd 20.10,
# containerd 1.6) when missing, and starts containerd and dockerd by hand, as
# ../shared/bench/peers does, on private sockets and directories under
# $WORK (/tmp/berth-dockerd): dockerd runs with --iptables=false
# --bridge=none --ip-forward=false --ip-masq=false and its own config file,
# so it touches neither the host's network nor /etc/docker. Nothing is
# pulled: the fixtures are loaded from ../shared/images (BERTH_SHARED_IMAGES
# overrides it). dockerd 20.10 cannot load OCI archives (it reads only
# manifest.json), so busybox.oci.tar, nginx.oci.tar and layered.oci.tar are
# tried, their refusal recorded, and the rest uses nginx-busybox.docker.tar.
#
# testdata/index.tsv lists, in the order they were made, every recorded
# request: kind (api or cli), the answer's file, its HTTP status or exit
# code, then the method and path (api) or docker's arguments (cli; $IMAGES
# stands for the fixtures' directory). The test replays that list against
# Berth. api/*.json are the raw bodies, cli/*.txt the CLI's stdout
# (cli/*.stderr its stderr, when not empty).
#
# For --roundtrip, save with berth what the fixtures hold:
#   berth -H unix://SOCK load -i ../shared/images/nginx-busybox.docker.tar
#   berth -H unix://SOCK save -o /tmp/berth-save.tar nginx:1.22 busybox:1.35
#
# The script is idempotent: each run starts from a clean $WORK, replaces the
# recordings (testdata/roundtrip only with --roundtrip), and on exit stops
# what it started (by PID) and removes $WORK and anything dockerd left on the
# host that was not there before (/run/docker, docker0, DOCKER iptables
# chains, cgroups, net.ipv4.ip_forward; noted in
# /tmp/berth-dockerd.host-state, which a killed run leaves for the next).
# docker.io stays installed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
IMAGES=${BERTH_SHARED_IMAGES:-$ROOT/../shared/images}
OUT=$HERE/testdata
WORK=/tmp/berth-dockerd # removed whole on exit: not configurable
SOCK=$WORK/docker.sock
API=v1.41 # what dockerd 20.10 speaks
DOCKER_BIN=${DOCKER_BIN:-/usr/local/bin/docker} # the v28 CLI that Berth is tested with

ROUNDTRIP=
while [ $# -gt 0 ]; do
	case $1 in
	--roundtrip)
		[ $# -ge 2 ] || { echo "record.sh: --roundtrip needs the path of a berth save archive" >&2; exit 2; }
		ROUNDTRIP=$(realpath "$2"); shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "record.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "record.sh: run as root (dockerd needs it)" >&2; exit 1; }
[ -f "$IMAGES/nginx-busybox.docker.tar" ] || { echo "record.sh: no fixtures at $IMAGES" >&2; exit 1; }
[ -z "$ROUNDTRIP" ] || [ -f "$ROUNDTRIP" ] || { echo "record.sh: $ROUNDTRIP does not exist" >&2; exit 1; }
[ -x "$DOCKER_BIN" ] || { echo "record.sh: no docker CLI at $DOCKER_BIN" >&2; exit 1; }

log() { echo "[record.sh $(date +%T)] $*" >&2; }

if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null; then
	log "installing docker.io"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

stop_pid() { # PIDFILE NAME: only NAME, should a stale pidfile's PID be reused
	[ -f "$1" ] || return 0
	local pid; pid=$(cat "$1")
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 0
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	log "stopped $2 ($pid)"
}

# Host state dockerd could change, noted before it starts so cleanup removes
# only what this run added. A run killed before its cleanup leaves the note,
# and the next run uses it rather than take that run's leftovers for the
# host's.
STATE=/tmp/berth-dockerd.host-state
if [ ! -f "$STATE" ]; then
	{
		echo "had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo 1 || echo 0)"
		echo "had_chains=$(iptables -S 2>/dev/null | grep -c -- '-N DOCKER' || true)"
		echo "had_cgroups='$(ls -d /sys/fs/cgroup/*/docker 2>/dev/null | tr '\n' ' ' || true)'"
		echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
		echo "had_run_docker=$([ -e /run/docker ] && echo 1 || echo 0)" # dockerd makes /run/docker/plugins
	} >"$STATE"
fi
# shellcheck source=/dev/null
. "$STATE"

cleanup() { # [final]: also forget the host's state
	set +e
	stop_pid "$WORK/dockerd.pid" dockerd
	stop_pid "$WORK/containerd.pid" containerd
	# dockerd mounts its overlay2 home (and containerd its snapshots) on
	# itself; unmount whatever is under $WORK before removing it.
	grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$WORK"
	if [ "$had_run_docker" = 0 ] && [ -d /run/docker ]; then rmdir /run/docker/plugins /run/docker && log "removed /run/docker"; fi
	if [ "$had_docker0" = 0 ] && ip link show docker0 >/dev/null 2>&1; then ip link del docker0 && log "removed docker0"; fi
	if [ "$had_chains" = 0 ]; then
		for t in filter nat; do
			for c in $(iptables -t $t -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^DOCKER/ {print $2}'); do
				iptables -t $t -S | awk -v c="$c" '$1=="-A" && $0 ~ "-j "c"( |$)" {sub("^-A","-D"); print}' |
					while read -r rule; do eval iptables -t $t "$rule"; done
				iptables -t $t -F "$c"; iptables -t $t -X "$c" && log "removed iptables chain $t/$c"
			done
		done
	fi
	for d in /sys/fs/cgroup/*/docker; do
		[ -d "$d" ] || continue
		case " $had_cgroups " in *" $d "*) continue ;; esac
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$ip_forward" ] || echo "$ip_forward" >/proc/sys/net/ipv4/ip_forward
	[ "${1:-}" != final ] || rm -f "$STATE"
}

# A previous run killed before its trap: stop what it left, then start clean
# (in a subshell: cleanup turns errexit off).
(cleanup)
trap 'cleanup final' EXIT
mkdir -p "$WORK/containerd" "$WORK/data" "$WORK/exec" "$WORK/cli"

cat >"$WORK/containerd/config.toml" <<EOF
version = 2
root = "$WORK/containerd/root"
state = "$WORK/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$WORK/containerd/containerd.sock"
[ttrpc]
  address = "$WORK/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$WORK/containerd/opt"
EOF
# deprecated-key-path keeps dockerd 20.10 from writing /etc/docker/key.json.
printf '{"deprecated-key-path": "%s"}\n' "$WORK/key.json" >"$WORK/daemon.json"

containerd --config "$WORK/containerd/config.toml" >"$WORK/containerd.log" 2>&1 &
echo $! >"$WORK/containerd.pid"
for _ in $(seq 100); do [ -S "$WORK/containerd/containerd.sock" ] && break; sleep 0.1; done
dockerd --host "unix://$SOCK" --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pidfile" \
	--config-file "$WORK/daemon.json" --containerd "$WORK/containerd/containerd.sock" \
	--iptables=false --ip-forward=false --ip-masq=false --bridge=none >"$WORK/dockerd.log" 2>&1 &
echo $! >"$WORK/dockerd.pid"

# docker runs the v28 CLI against the private dockerd; stdout and stderr
# are the caller's.
docker() { DOCKER_CONFIG=$WORK/cli DOCKER_CLI_HINTS=false "$DOCKER_BIN" -H "unix://$SOCK" "$@"; }
for _ in $(seq 150); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
docker version >/dev/null || { tail -n 20 "$WORK/dockerd.log" >&2; exit 1; }
SERVER=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}}), storage driver '"$(docker info --format '{{.Driver}}')")
CONTAINERD=$(containerd --version | awk '{print $3}')
log "dockerd $SERVER, containerd $CONTAINERD"

# api FILE METHOD PATH: one request, its body in api/FILE.json.
api() {
	local file=$1 method=$2 path=$3 status
	status=$(curl -sS --unix-socket "$SOCK" -X "$method" -o "$OUT/api/$file.json" -w '%{http_code}' "http://localhost/$API$path")
	printf 'api\t%s\t%s\t%s\t%s\n' "$file" "$status" "$method" "$path" >>"$OUT/index.tsv"
	log "$method $path -> $status"
}

# cli FILE ARGS...: one docker command, its stdout in cli/FILE.txt.
cli() {
	local file=$1 rc=0; shift
	docker "$@" >"$OUT/cli/$file.txt" 2>"$OUT/cli/$file.stderr" || rc=$?
	[ -s "$OUT/cli/$file.stderr" ] || rm -f "$OUT/cli/$file.stderr"
	log "docker $* -> exit $rc"
	local IFS=$'\t'
	local args="$*"
	printf 'cli\t%s\t%s\t%s\n' "$file" "$rc" "${args//"$IMAGES"/\$IMAGES}" >>"$OUT/index.tsv"
}

rm -rf "$OUT/api" "$OUT/cli" "$OUT/index.tsv" "$OUT/oci-load.txt"
mkdir -p "$OUT/api" "$OUT/cli"

for f in busybox.oci.tar nginx.oci.tar layered.oci.tar; do
	if out=$(docker load -i "$IMAGES/$f" 2>&1); then
		echo "$f: loaded: $out"
	else
		echo "$f: refused: $out"
	fi >>"$OUT/oci-load.txt"
done
docker images -aq | grep -q . && { echo "record.sh: dockerd loaded an OCI archive; record it too" >&2; exit 1; }

cli docker_load load -i "$IMAGES/nginx-busybox.docker.tar"
BB_ID=$(docker images -q busybox:1.35)

api images_json GET /images/json
api images_json_all GET '/images/json?all=1'
api images_json_digests GET '/images/json?digests=1'
api images_json_filter_reference GET '/images/json?filters=%7B%22reference%22%3A%5B%22busybox%22%5D%7D'
api images_json_filter_dangling GET '/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D'
api inspect_nginx GET /images/nginx:1.22/json
api inspect_busybox GET /images/busybox:1.35/json
api history_nginx GET /images/nginx:1.22/history
api history_busybox GET /images/busybox:1.35/history
api error_inspect_missing GET /images/nope:1/json
api error_filter_unknown GET '/images/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D'
api error_filter_dangling GET '/images/json?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D'
# Moving busybox:1.35 to nginx leaves the busybox image dangling.
api retag_dangling POST '/images/nginx:1.22/tag?repo=busybox&tag=1.35'
api dangling_images_json GET /images/json
api dangling_images_json_filter_dangling GET '/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D'
api dangling_inspect GET "/images/$BB_ID/json"
api dangling_history GET "/images/$BB_ID/history"
cli dangling_images images
cli dangling_images_filter images --filter dangling=true
api prune_dangling POST /images/prune
cli docker_load_again load -i "$IMAGES/nginx-busybox.docker.tar"

api tag_mybox POST '/images/busybox:1.35/tag?repo=mybox&tag=v1'
api error_delete_id_two_repos DELETE "/images/$BB_ID"
api delete_mybox DELETE /images/mybox:v1
api error_delete_missing DELETE /images/mybox:v1

cli images images
cli images_digests images --digests
cli history_nginx history nginx:1.22
cli history_nginx_format history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' nginx:1.22
cli inspect_nginx image inspect nginx:1.22
# The CLI runs a template on the typed answer, else ({{.Id}}) on the JSON.
cli inspect_nginx_format image inspect --format '{{.Size}} {{.Metadata.LastTagTime}} {{json .RootFS}} {{.Config.Cmd}}' nginx:1.22
cli inspect_nginx_format_json image inspect --format '{{.Id}} {{.Size}} {{.Metadata.LastTagTime}} {{json .RootFS}}' nginx:1.22
cli tag_mybox tag busybox:1.35 mybox:v1
cli rmi_mybox rmi mybox:v1
cli error_rmi_missing rmi mybox:v1

if [ -n "$ROUNDTRIP" ]; then
	# A dockerd with no images, so every layer comes from Berth's archive.
	docker rmi -f $(docker images -aq | sort -u) >/dev/null
	rm -rf "$OUT/roundtrip"
	mkdir -p "$OUT/roundtrip"
	docker load -i "$ROUNDTRIP" >"$OUT/roundtrip/docker-load.txt"
	sha256sum <"$ROUNDTRIP" | cut -c1-64 >"$OUT/roundtrip/archive.sha256"
	docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort >"$OUT/roundtrip/ids.txt"
	while read -r ref _; do
		printf '%s %s\n' "$ref" "$(docker image inspect --format '{{json .RootFS.Layers}}' "$ref")"
	done <"$OUT/roundtrip/ids.txt" >"$OUT/roundtrip/layers.txt"
	{
		echo "What dockerd $SERVER loaded from a \`berth save\` archive"
		echo "($(basename "$ROUNDTRIP"), sha256 $(sha256sum "$ROUNDTRIP" | cut -c1-64)), $(date -u +%F)."
		echo "ids.txt: name and image ID; layers.txt: name and RootFS.Layers; archive.sha256: the"
		echo "archive's digest (berth save is reproducible: the test saves the images of"
		echo "docker-load.txt again and expects it)."
	} >"$OUT/roundtrip/README"
	log "round trip: $(tr '\n' ' ' <"$OUT/roundtrip/ids.txt")"
fi

cat >"$OUT/README.md" <<EOF
# What dockerd answers

Recorded by \`testvm/dockerd/record.sh\` on $(date -u +%F) from Debian's docker.io:
dockerd $SERVER, containerd $CONTAINERD, driven with the docker CLI
$(docker version --format '{{.Client.Version}}') and curl on API /$API. Fixtures:
\`../shared/images/nginx-busybox.docker.tar\` (docker load). dockerd 20.10 cannot load
OCI archives (\`oci-load.txt\`), so nothing here covers them.

To record again: \`sudo testvm/dockerd/record.sh\` (add \`--roundtrip berth-save.tar\`
to refresh \`roundtrip/\`). \`index.tsv\` lists every request in order; \`api/\` holds
the bodies, \`cli/\` the CLI's output; \`roundtrip/\`, when present, what dockerd
loaded from a \`berth save\` archive. \`cmd/berth/e2e_dockerd_test.go\` replays them
against Berth.
EOF
log "recorded into $OUT"
