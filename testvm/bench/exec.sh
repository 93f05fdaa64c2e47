#!/bin/bash
# `exec <container> true` on Berth beside docker exec and podman exec, in
# one run on this machine (issue 5's target: Berth at least 5x faster than
# both). It needs what the peers' scripts set up (configs under /tmp/peers
# and the registry on 127.0.0.1:5000): run.sh calls it after them, or run
# it alone after `KEEP_REGISTRY=1 ../shared/bench/peers/run-all.sh`.
# Results are appended to /tmp/peers/results.tsv.
#   N_EXEC=20   samples
set -u
S=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$S/../.." && pwd)
PEERS_DIR=$(cd "$ROOT/../shared/bench/peers" && pwd)
source "$PEERS_DIR/lib.sh"
N=${N_EXEC:-20}
BB=$REG/library/busybox:1.35
curl -sf http://$REG/v2/ >/dev/null || { echo "no registry on $REG: run the peers first (see the comment at the top)" >&2; exit 1; }
FWD=$(cat /proc/sys/net/ipv4/ip_forward)
ensure_hugetlb_v1

# measure ENGINE VERSION LABEL CMD... : two warm-ups, then N timed runs
measure(){
  local engine=$1 version=$2 label=$3; shift 3
  local f=$DATA/$(slug "$engine-$label").ms; : >$f
  "$@" >/dev/null 2>&1; "$@" >/dev/null 2>&1
  for i in $(seq $N); do
    t=$(time_ms "$@") || { record_fail "$engine" "$version" "$label" "$(tail -n 3 $DATA/last.log)"; return; }
    echo "$t" >>$f
  done
  record "$engine" "$version" "$label" $f
}

# --- Podman
export CONTAINERS_STORAGE_CONF=$P/podman/storage.conf CONTAINERS_CONF=$P/podman/containers.conf
PV="podman $(podman version --format '{{.Client.Version}}' 2>/dev/null)"
podman pull --tls-verify=false -q $BB >/dev/null
podman run -d --name pmexec --network=none $BB sleep 600 >/dev/null &&
  measure podman "$PV" "exec <ctr> true" podman exec pmexec true
podman rm -f -t 0 pmexec >/dev/null 2>&1

# --- Docker Engine, started as the peers' 05-docker.sh starts it
D="/usr/bin/docker -H unix://$P/docker.sock"
mkdir -p $P/containerd $P/docker-data $P/docker-exec
nohup /usr/bin/containerd --config $P/containerd/config.toml >>$P/containerd.log 2>&1 & echo $! >$P/containerd.pid
for i in $(seq 50); do [ -S $P/containerd/containerd.sock ] && break; sleep 0.1; done
nohup /usr/sbin/dockerd --host unix://$P/docker.sock --data-root $P/docker-data --exec-root $P/docker-exec \
  --pidfile $P/dockerd.pidfile --containerd $P/containerd/containerd.sock \
  --insecure-registry $REG --iptables=true >>$P/dockerd.log 2>&1 & echo $! >$P/dockerd.pid
for i in $(seq 100); do $D version >/dev/null 2>&1 && break; sleep 0.1; done
DV="Docker Engine $($D version --format '{{.Server.Version}}' 2>/dev/null)"
$D pull -q $BB >/dev/null
$D run -d --name dexec --network none $BB sleep 600 >/dev/null &&
  measure docker "$DV" "exec <ctr> true" $D exec dexec true
bash "$PEERS_DIR/stop-docker.sh"

# --- Berth: its CLI, and the docker CLI v28 against it
B=$P/berth-exec
rm -rf "$B"; mkdir -p "$B"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$B/berth" ./cmd/berth) || exit 1
BV=$("$B/berth" version --format '{{.Client.Version}}' 2>/dev/null | head -n1); BV="berth ${BV:-dev}"
cat >"$B/daemon.json" <<JSON
{"mirrors": {"docker.io": {"endpoints": [{"url": "http://$REG"}], "fallback": false}}}
JSON
SOCK=$B/berth.sock
BERTH="$B/berth -H unix://$SOCK"
# The daemon keeps its bridge and rules when it stops (its containers
# outlive it); the benchmark leaves the host as it found it (ip_forward
# as it was before dockerd and berth turned it on).
"$B/berth" daemon -H "unix://$SOCK" --data-root "$B/data" --config-file "$B/daemon.json" >>"$B/daemon.log" 2>&1 &
BPID=$!
cleanup(){
  kill $BPID 2>/dev/null; wait $BPID 2>/dev/null
  (cd "$ROOT" && go run ./testvm/bench/netclean "$B/data") || log "could not remove the benchmark's bridge"
  echo "$FWD" >/proc/sys/net/ipv4/ip_forward
  rm -rf "$B/data"
}
trap cleanup EXIT
for i in $(seq 100); do $BERTH version >/dev/null 2>&1 && break; sleep 0.05; done
$BERTH pull -q busybox:1.35 >/dev/null
if $BERTH run -d --name bexec --network none busybox:1.35 sleep 600 >/dev/null; then
  measure berth "$BV" "exec <ctr> true" $BERTH exec bexec true
  measure berth "$BV" "exec <ctr> true (docker CLI v28 -> berth)" /usr/local/bin/docker -H unix://$SOCK exec bexec true
fi
$BERTH rm -f bexec >/dev/null 2>&1
cleanup; trap - EXIT

pick(){ awk -F'\t' -v e="$1" -v m="$2" '$1==e && $3==m {print $4}' $RESULTS | tail -n1; }
ratio(){ awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.1f", a/b; else printf "n/a" }'; }
pe=$(pick podman "exec <ctr> true"); de=$(pick docker "exec <ctr> true"); be=$(pick berth "exec <ctr> true")
bd=$(pick berth "exec <ctr> true (docker CLI v28 -> berth)")
echo
echo "| engine | exec <ctr> true, median ms |"
echo "| --- | --- |"
echo "| podman | $pe |"
echo "| docker | $de |"
echo "| berth (berth CLI) | $be |"
echo "| berth (docker CLI v28) | $bd |"
echo
echo "berth exec: $(ratio "$de" "$be")x faster than docker exec, $(ratio "$pe" "$be")x faster than podman exec (target 5x)"
