#!/usr/bin/env bash
# End-to-end decode benchmark: Tapir against tools that read the same capture.
#
#   bench/decode_bench.sh [--packets N] [--seed S] [--runs R] [--pcap FILE] [--only a,b]
#                         [--results FILE]
#
# Generates a capture with tapir-gen-workload (default 1,000,000 frames), then
# runs each tool R times (default 3) pinned to one CPU (taskset -c 0) and
# reports the median. Speed is packets per CPU-second (user + system time of
# the tool and its children, from /usr/bin/time), which a busy shared machine
# disturbs far less than wall time; wall time is printed too.
#
# Tools (each must show it really read the file, or its row says FAILED):
#   tapir        tapir decode FILE --format json (JSON lines, every analyzer)
#   tapir-pb     tapir decode FILE --format pb (length-delimited protobuf)
#   tcpdump      tcpdump -r FILE -w -            (read + write back; a floor)
#   tshark-dns   tshark -T fields, DNS fields, -Y dns
#   tshark-app   tshark -T fields, TLS + HTTP fields, -Y 'tls.handshake || http'
#   softflowd    softflowd -r FILE -c none -m ... -d (flows, nothing exported)
#   pmacctd      pmacctd, print plugin, 5-tuple aggregation (flows to CSV)
# Outputs go to a pipe counted by wc (as cheap for the tool as /dev/null, and
# it proves output was produced).
#
# Build first: cmake -S . -B build/bench -G Ninja -DTAPIR_BENCH=ON -DCMAKE_BUILD_TYPE=Release
#              ninja -C build/bench tapir tapir-gen-workload
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=${BUILD:-$ROOT/build/bench}
GEN=${GEN:-$BUILD/tools/gen_workload/tapir-gen-workload}
TAPIR=${TAPIR:-$BUILD/apps/tapir/tapir}
PACKETS=1000000
SEED=1
RUNS=3
PCAP=""
ONLY=""
RESULTS=""
CPU=${CPU:-0}

while (($#)); do
  case $1 in
    --packets) PACKETS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --pcap) PCAP=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "decode_bench: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "decode_bench: $*" >&2; exit 1; }
for t in taskset /usr/bin/time; do command -v "$t" >/dev/null || die "$t not found (apt-get install util-linux time)"; done

WORK=$(mktemp -d /tmp/tapir-decode-bench.XXXXXX)
PM_PID=""
cleanup() {
  if [ -n "$PM_PID" ] && kill -0 "$PM_PID" 2>/dev/null; then kill -INT "$PM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "$PCAP" ]; then
  [ -x "$GEN" ] || die "generator not built: $GEN"
  PCAP=$WORK/workload.pcap
  echo "generating $PACKETS frames (seed $SEED) ..." >&2
  "$GEN" --packets "$PACKETS" --seed "$SEED" --out "$PCAP" --summary "$WORK/summary.tsv"
else
  PACKETS=$(capinfos -c -M "$PCAP" 2>/dev/null | awk '/Number of packets/{print $NF}')
  [ -n "$PACKETS" ] || die "cannot count the frames of $PCAP (capinfos, from tshark's wireshark-common, is needed)"
fi
PCAP_BYTES=$(stat -c %s "$PCAP")
summary() { awk -v k="$1" '$1==k{print $2}' "$WORK/summary.tsv" 2>/dev/null; }

want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# run_once NAME CMD...: runs CMD pinned, stdout counted into $WORK/NAME.out.N;
# appends "cpu wall rss" to $WORK/NAME.times.
run_once() {
  local name=$1 n=$2; shift 2
  local tf=$WORK/$name.time.$n
  if [ "$name" = softflowd ]; then
    # softflowd prints its statistics (packets processed, flows) on stdout.
    /usr/bin/time -f "%e %U %S %M" -o "$tf" taskset -c "$CPU" "$@" >"$WORK/$name.err.$n" 2>&1 || true
    echo 0 >"$WORK/$name.out.$n"
  else
    { /usr/bin/time -f "%e %U %S %M" -o "$tf" taskset -c "$CPU" "$@" 2>"$WORK/$name.err.$n"; } \
      | wc -c >"$WORK/$name.out.$n" || true
  fi
  awk '{printf "%.3f %.3f %d\n", $2 + $3, $1, $4}' "$tf" >>"$WORK/$name.times"
}

# pmacctd keeps running after the end of a savefile (pcap_savefile_wait), so
# it is stopped with SIGINT once it logs that the file is read; its print
# plugin then writes the aggregated flows and exits.
run_pmacctd() {
  local n=$1
  local conf=$WORK/pmacctd.conf out=$WORK/pmacctd.csv.$n log=$WORK/pmacctd.log.$n
  cat >"$conf" <<EOF
daemonize: false
pcap_savefile: $PCAP
pcap_savefile_wait: true
plugins: print
aggregate: src_host, dst_host, src_port, dst_port, proto
print_output: csv
print_output_file: $out
print_refresh_time: 86400
EOF
  local tf=$WORK/pmacctd.time.$n
  /usr/bin/time -f "%e %U %S %M" -o "$tf" taskset -c "$CPU" pmacctd -f "$conf" >"$log" 2>&1 &
  local timer=$!
  local waited=0
  while [ -z "$PM_PID" ] && ((waited < 100)); do PM_PID=$(pgrep -o -P "$timer" pmacctd || true); sleep 0.1; waited=$((waited+1)); done
  [ -n "$PM_PID" ] || die "pmacctd did not start; see $log"
  until grep -q "finished reading PCAP capture file" "$log"; do
    kill -0 "$timer" 2>/dev/null || break
    sleep 0.2
  done
  kill -INT "$PM_PID" 2>/dev/null || true
  wait "$timer" || true
  PM_PID=""
  awk '{printf "%.3f %.3f %d\n", $2 + $3, $1, $4}' "$tf" >>"$WORK/pmacctd.times"
  [ -f "$out" ] && grep -vc '^SRC_IP' "$out" >"$WORK/pmacctd.out.$n" || echo 0 >"$WORK/pmacctd.out.$n"
}

declare -a NAMES=()
declare -A CHECK=()

bench() {  # bench NAME CMD...
  local name=$1; shift
  want "$name" || return 0
  echo "running $name x$RUNS ..." >&2
  NAMES+=("$name")
  for ((i = 1; i <= RUNS; i++)); do
    if [ "$name" = pmacctd ]; then run_pmacctd "$i"; else run_once "$name" "$i" "$@"; fi
  done
}

if [ -x "$TAPIR" ]; then
  bench tapir "$TAPIR" decode "$PCAP" --format json -o - -q
  bench tapir-pb "$TAPIR" decode "$PCAP" --format pb -o - -q
else
  echo "decode_bench: $TAPIR not built; Tapir rows skipped" >&2
fi
command -v tcpdump >/dev/null && bench tcpdump tcpdump -n -r "$PCAP" -w -
if command -v tshark >/dev/null; then
  bench tshark-dns tshark -n -r "$PCAP" -Y dns -T fields -e frame.time_epoch -e ip.src -e ipv6.src \
    -e udp.srcport -e dns.id -e dns.flags.response -e dns.qry.name -e dns.qry.type \
    -e dns.flags.rcode -e dns.a -e dns.aaaa -e dns.cname -e dns.resp.ttl
  bench tshark-app tshark -n -r "$PCAP" -Y 'tls.handshake || http' -T fields -e frame.time_epoch \
    -e ip.src -e ipv6.src -e tcp.srcport -e tls.handshake.type \
    -e tls.handshake.extensions_server_name -e tls.handshake.ciphersuite \
    -e tls.handshake.extensions_alpn_str -e tls.handshake.ja3 -e http.request.method \
    -e http.host -e http.request.uri -e http.user_agent -e http.response.code
fi
command -v softflowd >/dev/null && bench softflowd softflowd -r "$PCAP" -c none -m 4000000 -d
command -v pmacctd >/dev/null && bench pmacctd

# Output check per tool: what it produced and whether that is plausible.
check() {
  local name=$1 out
  out=$(cat "$WORK/$name.out.1" 2>/dev/null || echo 0)
  case $name in
    tapir|tapir-pb) ((out > 0)) && echo "$out bytes of events" || echo "FAILED: no output" ;;
    tcpdump) ((out >= PCAP_BYTES * 9 / 10)) && echo "$out bytes rewritten" || echo "FAILED: $out bytes" ;;
    tshark-*) ((out > 0)) && echo "$out bytes of fields" || echo "FAILED: no output" ;;
    softflowd)
      local p
      p=$(awk '/Packets processed:/{print $3}' "$WORK/softflowd.err.1" 2>/dev/null)
      local f
      f=$(awk '/Flows exported:/{print $3}' "$WORK/softflowd.err.1" 2>/dev/null)
      [ -n "$p" ] && ((p > 0)) && echo "$p IP packets processed, $f flows" || echo "FAILED: no packets" ;;
    pmacctd) ((out > 0)) && echo "$out flow rows" || echo "FAILED: no flows" ;;
  esac
}

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

tapir_pps=""
{
  printf 'capture\t%s\t%d frames\t%d bytes\n' "$(basename "$PCAP")" "$PACKETS" "$PCAP_BYTES"
  printf 'tool\tcpu_s\twall_s\tpackets_per_cpu_s\tvs_tapir\tpeak_rss_mb\toutput\n'
  for name in "${NAMES[@]}"; do
    cpu=$(awk '{print $1}' "$WORK/$name.times" | median)
    wall=$(awk '{print $2}' "$WORK/$name.times" | median)
    rss=$(awk '{print $3}' "$WORK/$name.times" | sort -n | tail -1)
    # /usr/bin/time counts CPU in 10 ms steps: too short a run has no speed.
    pps=$(awk -v p="$PACKETS" -v c="$cpu" 'BEGIN{ if (c > 0) printf "%.0f", p / c; else print "n/a" }')
    [ "$name" = tapir ] && tapir_pps=$pps
    ratio=$(awk -v a="$pps" -v t="${tapir_pps:-0}" 'BEGIN{ if (t + 0 > 0 && a + 0 > 0) printf "%.2f", a / t; else print "-" }')
    printf '%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n' "$name" "$cpu" "$wall" "$pps" "$ratio" \
      "$(awk -v k="$rss" 'BEGIN{print k / 1024}')" "$(check "$name")"
  done
} | tee "$WORK/results.tsv" | column -t -s $'\t'

if [ -f "$WORK/summary.tsv" ] && want tshark-dns && [ -f "$WORK/tshark-dns.out.1" ]; then
  echo "generator wrote $(summary dns_frames) DNS frames, $(summary tls_frames) TLS, $(summary http_frames) HTTP" >&2
fi
[ -n "$RESULTS" ] && cp "$WORK/results.tsv" "$RESULTS"
if grep -q FAILED "$WORK/results.tsv"; then exit 1; fi
