#!/bin/bash
# Berth beside the peer engines, in one run, on this machine.
#
#   testvm/bench/run.sh            # peers (../shared/bench/peers/run-all.sh), then Berth
#   PEERS=0 testvm/bench/run.sh    # Berth only, against a registry the peers left running
#
# It measures what ../shared/BENCH.md lists for the image engine: a cold pull
# of nginx:1.22 from the loopback registry (127.0.0.1:5000, the peers'
# distribution registry), the daemon's idle memory, and `berth version`'s
# start. Berth's data root goes in /tmp/peers like Docker's and Podman's, so
# every engine meets the same disk. Results are appended to
# /tmp/peers/results.tsv and printed as a table with the ratio to Docker.
#   N_PULL=5   samples
set -u
S=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$S/../.." && pwd)
PEERS_DIR=$(cd "$ROOT/../shared/bench/peers" && pwd)
N_PULL=${N_PULL:-5}
source "$PEERS_DIR/lib.sh"

if [ "${PEERS:-1}" = 1 ]; then
  KEEP_REGISTRY=1 bash "$PEERS_DIR/run-all.sh" || exit 1
fi
curl -sf http://$REG/v2/ >/dev/null || { echo "no registry on $REG: run with PEERS=1 first" >&2; exit 1; }

B=$P/berth
rm -rf "$B"; mkdir -p "$B"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$B/berth" ./cmd/berth) || exit 1
V=$("$B/berth" version --format '{{.Client.Version}}' 2>/dev/null || echo dev)
cat >"$B/daemon.json" <<JSON
{"mirrors": {"docker.io": {"endpoints": [{"url": "http://$REG"}], "fallback": false}}}
JSON
SOCK=$B/berth.sock
BERTH="$B/berth -H unix://$SOCK"
start_berth(){
  "$B/berth" daemon -H "unix://$SOCK" --data-root "$B/data" --config-file "$B/daemon.json" >>"$B/daemon.log" 2>&1 &
  echo $! >"$B/daemon.pid"
  for i in $(seq 100); do $BERTH version >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
stop_berth(){ kill "$(cat "$B/daemon.pid")" 2>/dev/null; wait "$(cat "$B/daemon.pid")" 2>/dev/null; }
trap stop_berth EXIT
start_berth || { log "berth daemon did not start: $(tail -n 3 $B/daemon.log)"; exit 1; }

# --- pull, cold: every image removed (layers gone) before each pull
f=$DATA/berth-pull-cold.ms; : >$f
for i in $(seq $N_PULL); do
  ids=$($BERTH images -q); [ -n "$ids" ] && $BERTH rmi -f $ids >/dev/null
  t=$(time_ms $BERTH pull -q nginx:1.22) || { record_fail berth "$V" "pull nginx:1.22 cold" "$(tail -n 3 $DATA/last.log)"; break; }
  echo "$t" >>$f
done
[ -s $f ] && record berth "$V" "pull nginx:1.22 cold (rm+rmi all; daemon kept running)" $f

# --- idle memory: the daemon after the pulls, settled
sleep 2
pid=$(cat "$B/daemon.pid")
pss=$(awk '/^Pss:/{print $2}' /proc/$pid/smaps_rollup); rss=$(awk '/^Rss:/{print $2}' /proc/$pid/smaps_rollup)
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' berth "$V" "daemon idle PSS (MiB)" "$(awk -v k=$pss 'BEGIN{printf "%.1f", k/1024}')" - - 1 >>$RESULTS
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' berth "$V" "daemon idle RSS (MiB)" "$(awk -v k=$rss 'BEGIN{printf "%.1f", k/1024}')" - - 1 >>$RESULTS

# --- client start: berth version against the running daemon
f=$DATA/berth-version.ms; : >$f
for i in $(seq 20); do time_ms $BERTH version >>$f; done
record berth "$V" "berth version (client and engine)" $f

echo
echo "| engine | measurement | median ms (min-max) | vs Docker |"
echo "| --- | --- | --- | --- |"
dock=$(awk -F'\t' '$1=="docker" && $3 ~ /^pull nginx:1.22 cold \(rm\+rmi/ {print $4}' $RESULTS | tail -n1)
awk -F'\t' -v dock="${dock:-}" '$3 ~ /pull nginx:1.22 cold|daemon idle|berth version|skopeo/ {
  ratio=""; if (dock != "" && $3 ~ /^pull nginx:1.22 cold/ && $4+0 > 0) ratio=sprintf("%.2fx faster", dock/$4);
  printf "| %s %s | %s | %s (%s-%s) | %s |\n", $1, $2, $3, $4, $5, $6, ratio }' $RESULTS
