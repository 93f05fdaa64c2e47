#!/bin/bash
# Berth beside the peer engines, in one run, on this machine.
#
#   testvm/bench/run.sh            # peers (../shared/bench/peers/run-all.sh), then Berth
#   PEERS=0 testvm/bench/run.sh    # Berth only, against a registry the peers left running
#
# It measures what ../shared/BENCH.md lists: a cold pull of nginx:1.22 from
# the loopback registry (127.0.0.1:5000, the peers' distribution registry),
# `run --rm busybox true` without a network and on the default bridge, the
# nginx smoke path (`run -d -p` to the first "Welcome to nginx!", then
# `stop` + `rm`), the throughput of a published port through the kernel's
# NAT and through the userland proxy beside a direct connection to the
# container, the daemon's idle memory and a running container's monitor,
# and `berth version`'s start. Berth's data root goes in /tmp/peers like
# Docker's and Podman's, so every engine meets the same disk. Results are
# appended to /tmp/peers/results.tsv and printed as a table with the ratios
# to the peers. The bridge and rules the daemon made are removed at the end.
#   N_PULL=5 N_RUN=20 N_SMOKE=5 N_TPUT=5   samples
set -u
S=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$S/../.." && pwd)
PEERS_DIR=$(cd "$ROOT/../shared/bench/peers" && pwd)
N_PULL=${N_PULL:-5}
N_RUN=${N_RUN:-20}
N_SMOKE=${N_SMOKE:-5}
N_TPUT=${N_TPUT:-5}
source "$PEERS_DIR/lib.sh"

if [ "${PEERS:-1}" = 1 ]; then
  KEEP_REGISTRY=1 bash "$PEERS_DIR/run-all.sh" || exit 1
fi
curl -sf http://$REG/v2/ >/dev/null || { echo "no registry on $REG: run with PEERS=1 first" >&2; exit 1; }

B=$P/berth
rm -rf "$B"; mkdir -p "$B"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$B/berth" ./cmd/berth) || exit 1
V=$("$B/berth" version --format '{{.Client.Version}}' 2>/dev/null | head -n1); V=${V:-dev}
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
# The daemon keeps its bridge and rules when it stops (its containers
# outlive it); a benchmark leaves the host as it found it.
FWD=$(cat /proc/sys/net/ipv4/ip_forward)
cleanup(){
  $BERTH rm -f bench-smoke bench-tput >/dev/null 2>&1
  stop_berth
  (cd "$ROOT" && go run ./testvm/bench/netclean "$B/data") || log "could not remove the benchmark's bridge"
  echo "$FWD" >/proc/sys/net/ipv4/ip_forward
}
trap cleanup EXIT
start_berth || { log "berth daemon did not start: $(tail -n 3 $B/daemon.log)"; exit 1; }

# --- pull, cold: every image removed (layers gone) before each pull
f=$DATA/berth-pull-cold.ms; : >$f
for i in $(seq $N_PULL); do
  ids=$($BERTH images -q); [ -n "$ids" ] && $BERTH rmi -f $ids >/dev/null
  t=$(time_ms $BERTH pull -q nginx:1.22) || { record_fail berth "$V" "pull nginx:1.22 cold" "$(tail -n 3 $DATA/last.log)"; break; }
  echo "$t" >>$f
done
[ -s $f ] && record berth "$V" "pull nginx:1.22 cold (rm+rmi all; daemon kept running)" $f

# --- run --rm busybox true, no network
$BERTH pull -q busybox:1.35 >/dev/null
f=$DATA/berth-run-true.ms; : >$f
$BERTH run --rm --network none busybox:1.35 true >/dev/null 2>&1; $BERTH run --rm --network none busybox:1.35 true >/dev/null 2>&1   # 2 warm-ups
for i in $(seq $N_RUN); do
  t=$(time_ms $BERTH run --rm --network none busybox:1.35 true) || { record_fail berth "$V" "run --rm busybox true, --network=none" "$(tail -n 3 $DATA/last.log)"; break; }
  echo "$t" >>$f
done
[ -s $f ] && record berth "$V" "run --rm busybox true, --network=none" $f

# --- the nginx smoke test, as berth verify times its phases (the client's own start not counted):
#     run -d -p 127.0.0.1:<port>:80 -> first 'Welcome to nginx!' = start + response; stop + rm = cleanup
fu=$DATA/berth-nginx-up.ms fd=$DATA/berth-nginx-down.ms; : >$fu; : >$fd
$BERTH verify --image nginx:1.22 >/dev/null 2>&1   # warm-up; the image is present from the pulls
for i in $(seq $N_RUN); do
  j=$($BERTH verify --image nginx:1.22 --json 2>>$DATA/last.log) || { record_fail berth "$V" "nginx smoke (berth verify)" "$(echo "$j" | awk -F'"' '/"failed":/{print "failed phase " $4}')"; : >$fu; break; }
  read -r up down < <(echo "$j" | awk -F': ' '/^ *"name":/{n=$2; gsub(/[", ]/,"",n)} /^ *"ms":/{v=$2; gsub(/[, ]/,"",v); ms[n]=v} END{print ms["start"]+ms["response"], ms["cleanup"]}')
  echo "$up" >>$fu; echo "$down" >>$fd
done
[ -s $fu ] && { record berth "$V" "nginx: run -d -p -> first 'Welcome to nginx!' (berth verify: start+response)" $fu
  record berth "$V" "nginx: stop + rm (berth verify: cleanup)" $fd; }

# --- run --rm busybox true, on the default bridge
f=$DATA/berth-run-true-bridge.ms; : >$f
$BERTH run --rm busybox:1.35 true >/dev/null 2>&1; $BERTH run --rm busybox:1.35 true >/dev/null 2>&1   # 2 warm-ups
for i in $(seq $N_RUN); do
  t=$(time_ms $BERTH run --rm busybox:1.35 true) || { record_fail berth "$V" "run --rm busybox true, default network (bridge)" "$(tail -n 3 $DATA/last.log)"; break; }
  echo "$t" >>$f
done
[ -s $f ] && record berth "$V" "run --rm busybox true, default network (bridge)" $f

# --- nginx smoke: run -d -p -> first "Welcome to nginx!", then stop + rm
$BERTH pull -q nginx:1.22 >/dev/null
fu=$DATA/berth-nginx-up.ms fd=$DATA/berth-nginx-down.ms ft=$DATA/berth-nginx-total.ms; : >$fu; : >$fd; : >$ft
for i in $(seq $N_SMOKE); do
  s=$(now_us); $BERTH run -d --name bench-smoke -p 18081:80 nginx:1.22 >/dev/null || { record_fail berth "$V" "nginx smoke" "run -d failed"; break; }
  if ! wait_http http://127.0.0.1:18081/ 'Welcome to nginx!' 30; then record_fail berth "$V" "nginx smoke" "no Welcome within 30s"; $BERTH rm -f bench-smoke >/dev/null; break; fi
  up=$(ms_since $s); s2=$(now_us); $BERTH stop bench-smoke >/dev/null && $BERTH rm bench-smoke >/dev/null; down=$(ms_since $s2); tot=$(ms_since $s)
  echo $up >>$fu; echo $down >>$fd; echo $tot >>$ft
done
[ -s $fu ] && { record berth "$V" "nginx: run -d -p 18081:80 -> first 'Welcome to nginx!'" $fu
  record berth "$V" "nginx: stop + rm" $fd; record berth "$V" "nginx: total (run..curl ok..stop+rm)" $ft; }

# --- published-port throughput: a 256 MiB file from nginx, directly from
# the container's address, through the kernel's NAT (the host's own
# address, DNATed in the output chain) and through the userland proxy
# (127.0.0.1, which the NAT leaves to the proxy)
mkdir -p "$B/www"; [ -s "$B/www/big" ] || head -c 256M /dev/urandom >"$B/www/big"
if $BERTH run -d --name bench-tput -p 18082:80 -v "$B/www:/usr/share/nginx/html/t:ro" nginx:1.22 >/dev/null; then
  cip=$($BERTH inspect --format '{{.NetworkSettings.IPAddress}}' bench-tput)
  hip=$(ip -4 -o addr show scope global | awk '$2 !~ /^(berth|docker|cni|podman|bt)/ {split($4, a, "/"); print a[1]; exit}')
  wait_http "http://$cip/" 'Welcome to nginx!' 30
  for path in "direct to the container:http://$cip:80" "kernel NAT, host address:http://$hip:18082" "userland proxy, 127.0.0.1:http://127.0.0.1:18082"; do
    label=${path%%:http*} url=http${path#*:http}
    f=$DATA/$(slug "berth-tput-$label").mibs; : >$f
    for i in $(seq $N_TPUT); do
      curl -s -o /dev/null -w '%{speed_download}\n' "$url/t/big" | awk '{printf "%.1f\n", $1/1048576}' >>$f
    done
    record berth "$V" "published port throughput, $label (MiB/s)" $f
  done
  $BERTH rm -f bench-tput >/dev/null
else
  record_fail berth "$V" "published port throughput" "run -d -p failed"
fi

# --- a running container's monitor
$BERTH run -d --name bench-sleep --network none busybox:1.35 sleep 60 >/dev/null
sleep 2
mon=$(pgrep -f "container-monitor $B/data/containers/" | head -n1)
if [ -n "$mon" ]; then
  mpss=$(awk '/^Pss:/{print $2}' /proc/$mon/smaps_rollup)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' berth "$V" "monitor of a running container, PSS (MiB)" "$(awk -v k=$mpss 'BEGIN{printf "%.1f", k/1024}')" - - 1 >>$RESULTS
fi
$BERTH rm -f bench-sleep >/dev/null

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
pick(){ awk -F'\t' -v e="$1" -v m="$2" '$1==e && index($3, m)==1 {print $4}' $RESULTS | tail -n1; }
dpull=$(pick docker "pull nginx:1.22 cold (rm+rmi"); bpull=$(pick berth "pull nginx:1.22 cold")
crun=$(awk -F'\t' '$1=="crun" {print $4}' $RESULTS | head -n1)
prun=$(pick podman "run --rm busybox true, --network=none"); drun=$(pick docker "run --rm busybox true, --network=none")
brun=$(pick berth "run --rm busybox true, --network=none")
awk -F'\t' '$3 ~ /pull nginx:1.22 cold|run --rm busybox true|run \/bin\/true|nginx: |throughput|daemon idle|monitor|berth version|skopeo/ && $1 != "" {
  printf "| %s %s | %s | %s (%s-%s) | |\n", $1, $2, $3, $4, $5, $6 }' $RESULTS
ratio(){ awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else printf "n/a" }'; }
echo
echo "berth pull vs docker: $(ratio "$dpull" "$bpull")x faster"
echo "berth run --rm true: $(ratio "$brun" "$crun")x bare crun; $(ratio "$prun" "$brun")x faster than podman; $(ratio "$drun" "$brun")x faster than docker"
pbr=$(pick podman "run --rm busybox true, default network"); dbr=$(pick docker "run --rm busybox true, default network")
bbr=$(pick berth "run --rm busybox true, default network")
echo "berth run --rm true on the bridge: $(ratio "$bbr" "$crun")x bare crun (target 3x); $(ratio "$pbr" "$bbr")x faster than podman; $(ratio "$dbr" "$bbr")x faster than docker"
pup=$(pick podman "nginx: run -d -p"); dup=$(pick docker "nginx: run -d -p"); bup=$(pick berth "nginx: run -d -p")
pdn=$(pick podman "nginx: stop + rm"); ddn=$(pick docker "nginx: stop + rm"); bdn=$(pick berth "nginx: stop + rm")
echo "berth nginx run -d -p -> first 200: ${bup:-n/a} ms (target 60); $(ratio "$pup" "$bup")x faster than podman, $(ratio "$dup" "$bup")x faster than docker"
echo "berth nginx stop + rm: ${bdn:-n/a} ms (target 50); $(ratio "$pdn" "$bdn")x faster than podman, $(ratio "$ddn" "$bdn")x faster than docker"
# berth verify's nginx rows beside the peers' (targets: first 200 <= 60 ms, stop + rm <= 50 ms)
awk -F'\t' '$3 ~ /^nginx: (run -d -p|stop \+ rm)/ && $1 != "" { printf "| %s %s | %s | %s (%s-%s) | |\n", $1, $2, $3, $4, $5, $6 }' $RESULTS
bup=$(pick berth "nginx: run -d -p"); bdown=$(pick berth "nginx: stop + rm")
echo "berth nginx first 200: ${bup:-n/a} ms, $(ratio "$(pick docker "nginx: run -d -p")" "$bup")x faster than docker; stop + rm: ${bdown:-n/a} ms, $(ratio "$(pick docker "nginx: stop + rm")" "$bdown")x faster than docker"

# --- exec <ctr> true beside docker exec and podman exec (its own table)
bash "$S/exec.sh"
