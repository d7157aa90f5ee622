#!/usr/bin/env bash
# Ingest macro benchmark: Cairn, Prometheus and VictoriaMetrics, one after the other, fed the
# same node_exporter-like data by the same load generator.
#
# usage: benches/run-ingest.sh [SERIES] [HOURS]        (defaults 100000 and 4)
# environment:
#   SYSTEMS="cairn prometheus victoriametrics"  which systems, in this order
#   CONNECTIONS=4 BATCH=2000 STEPS_PER_REQ=1     load shape (see loadgen --help)
#   WORK=/tmp/...                                where data dirs, logs and results go
#   INGEST_TIMEOUT=5400 PERSIST_TIMEOUT=900 PROBE_TIMEOUT=600   per-phase limits in seconds
#   CAIRN=target/release/cairn  PROMETHEUS=/usr/bin/prometheus  VM=/usr/bin/victoria-metrics
#   NO_BUILD=1                                   use the binaries as they are
#   START_MS=...                                 first scrape (ms; default now - HOURS, aligned)
#   NO_PERSIST=1                                 skip the flush/snapshot/merge and the probes
#                                                (leaves Cairn's recent data in its head and WAL)
# The data directories stay in $WORK/<system>/data; $WORK/range.env records the data range.
set -euo pipefail

SERIES=${1:-100000}
HOURS=${2:-4}
SYSTEMS=${SYSTEMS:-"cairn prometheus victoriametrics"}
CONNECTIONS=${CONNECTIONS:-4}
BATCH=${BATCH:-2000}
STEPS_PER_REQ=${STEPS_PER_REQ:-1}
INTERVAL_MS=15000
INGEST_TIMEOUT=${INGEST_TIMEOUT:-5400}
PERSIST_TIMEOUT=${PERSIST_TIMEOUT:-900}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-600}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CAIRN=${CAIRN:-$TARGET_DIR/release/cairn}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
VM=${VM:-/usr/bin/victoria-metrics}
LOADGEN=$TARGET_DIR/release/loadgen
PROBE=$TARGET_DIR/release/probe
WORK=${WORK:-$(mktemp -d /tmp/cairn-ingest-bench.XXXXXX)}
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$WORK/results.tsv

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -z ${NO_BUILD:-} ]]; then
  (cd "$ROOT" && cargo build --release -p cairn-benches)
  if [[ " $SYSTEMS " == *" cairn "* ]]; then (cd "$ROOT" && cargo build --release -p cairn); fi
fi
[[ -x $LOADGEN && -x $PROBE ]] || die "no $LOADGEN or $PROBE"

# Same data for every system: the start is fixed once, aligned to the interval.
NOW_MS=$(( $(date +%s) * 1000 ))
# (mawk's %d is 32-bit: integers are printed with %.0f.)
STEPS=$(awk -v h="$HOURS" -v i="$INTERVAL_MS" 'BEGIN { printf "%.0f", h * 3600000 / i }')
if [[ -z ${START_MS:-} ]]; then
  START_MS=$(( NOW_MS - STEPS * INTERVAL_MS ))
  START_MS=$(( START_MS - START_MS % INTERVAL_MS ))
fi
END_MS=$(( START_MS + STEPS * INTERVAL_MS ))
EXAMPLE_INSTANCE=10.0.0.1:9100

# utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat, counted after
# the parenthesised command name, which may contain spaces).
cpu_seconds() {
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat")
  awk -v tck="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / tck }' <<<"$rest"
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
bytes_of() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }

wait_http() { # url timeout_s
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.5
  done
}

# Waits until a directory's size has not changed for `quiet` seconds.
wait_stable() { # dir quiet_s timeout_s
  local deadline=$(( $(date +%s) + $3 )) last=-1 same=0 now
  while (( $(date +%s) < deadline )); do
    now=$(bytes_of "$1")
    if [[ $now == "$last" ]]; then same=$((same + 1)); else same=0; last=$now; fi
    (( same >= $2 )) && return 0
    sleep 1
  done
  log "warning: $1 still changing after $3 s"
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.5
  done
  log "warning: $pid ignored SIGTERM for 60 s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

start_system() { # name dir -> sets PID PORT WRITE_URL BASE READY_URL
  local name=$1 dir=$2
  case $name in
    cairn)
      PORT=19009
      "$CAIRN" serve --data-dir "$dir/data" --listen "127.0.0.1:$PORT" >"$dir/server.log" 2>&1 &
      PID=$!
      READY_URL=http://127.0.0.1:$PORT/-/ready ;;
    prometheus)
      PORT=19090
      printf 'global:\n  scrape_interval: 15s\n' >"$dir/prometheus.yml"
      "$PROMETHEUS" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --storage.tsdb.retention.time=3650d --web.listen-address="127.0.0.1:$PORT" \
        --web.enable-remote-write-receiver --web.enable-admin-api >"$dir/server.log" 2>&1 &
      PID=$!
      READY_URL=http://127.0.0.1:$PORT/-/ready ;;
    victoriametrics)
      PORT=18428
      "$VM" -storageDataPath="$dir/data" -retentionPeriod=100y -httpListenAddr="127.0.0.1:$PORT" \
        -search.maxSeries=100000000 -loggerLevel=WARN >"$dir/server.log" 2>&1 &
      PID=$!
      READY_URL=http://127.0.0.1:$PORT/health ;;
    *) die "unknown system $name" ;;
  esac
  BASE=http://127.0.0.1:$PORT
  WRITE_URL=$BASE/api/v1/write
  wait_http "$READY_URL" 120 || die "$name did not become ready (see $dir/server.log)"
}

# Makes the system write everything it holds to its long-term format; echoes bytes and what
# they are.
persist() { # name dir
  local name=$1 dir=$2
  case $name in
    cairn)
      curl -fsS -m "$PERSIST_TIMEOUT" -X POST "$BASE/api/v1/admin/flush" >"$dir/flush.json" \
        || log "warning: cairn flush failed: $(cat "$dir/flush.json" 2>/dev/null)"
      # Background compaction may rewrite blocks after the flush.
      wait_stable "$dir/data/objects" 20 "$PERSIST_TIMEOUT"
      echo "$(bytes_of "$dir/data/objects") object store (data/objects: Parquet blocks, meta, catalog; no WAL)" ;;
    prometheus)
      local snap
      snap=$(curl -fsS -m "$PERSIST_TIMEOUT" -X POST "$BASE/api/v1/admin/tsdb/snapshot" \
        | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
      [[ -n $snap ]] || die "prometheus snapshot failed"
      echo "$(bytes_of "$dir/data/snapshots/$snap") TSDB snapshot (persisted 2h blocks + head written as a block: chunks, index, meta; no WAL)" ;;
    victoriametrics)
      curl -fsS -m 60 "$BASE/internal/force_flush" >/dev/null || log "warning: force_flush failed"
      curl -fsS -m 60 "$BASE/internal/force_merge" >/dev/null || log "warning: force_merge failed"
      wait_stable "$dir/data" 20 "$PERSIST_TIMEOUT"
      echo "$(bytes_of "$dir/data") storageDataPath after force_flush + force_merge (data + indexdb)" ;;
  esac
}

# Times the series list and one series over the whole range; echoes "series_s<TAB>read_s<TAB>method".
probes() { # name dir
  local name=$1 dir=$2 s r method
  timeout "$PROBE_TIMEOUT" "$PROBE" --url "$BASE" --start-ms "$START_MS" --end-ms "$END_MS" series \
    >"$dir/probe-series.out" 2>&1 || log "warning: series probe failed: $(tail -1 "$dir/probe-series.out")"
  s=$(sed -n 's/.*median_s=\([^ ]*\).* series=\([0-9]*\).*/\1 (\2 series)/p' "$dir/probe-series.out")
  if [[ $name == victoriametrics ]]; then
    method="/api/v1/export (no remote read in VictoriaMetrics)"
    timeout "$PROBE_TIMEOUT" "$PROBE" --url "$BASE" --start-ms "$START_MS" --end-ms "$END_MS" export \
      --selector "{__name__=\"node_cpu_seconds_total\",instance=\"$EXAMPLE_INSTANCE\",cpu=\"0\",mode=\"idle\"}" \
      >"$dir/probe-read.out" 2>&1 || log "warning: export probe failed: $(tail -1 "$dir/probe-read.out")"
  else
    method="remote read /api/v1/read (SAMPLES)"
    timeout "$PROBE_TIMEOUT" "$PROBE" --url "$BASE" --start-ms "$START_MS" --end-ms "$END_MS" read \
      --match __name__=node_cpu_seconds_total --match "instance=$EXAMPLE_INSTANCE" \
      --match cpu=0 --match mode=idle >"$dir/probe-read.out" 2>&1 \
      || log "warning: read probe failed: $(tail -1 "$dir/probe-read.out")"
  fi
  r=$(sed -n 's/.*median_s=\([^ ]*\).* samples=\([0-9]*\).*/\1 (\2 samples)/p' "$dir/probe-read.out")
  printf '%s\t%s\t%s\n' "${s:-failed}" "${r:-failed}" "$method"
}

run_system() {
  local name=$1 dir=$WORK/$1
  rm -rf "$dir"; mkdir -p "$dir"
  log "$name: starting"
  start_system "$name" "$dir"
  sleep 3
  local cpu0 cpu1 cpu2 rss0 rss hwm res samples elapsed rate persisted bytes what probe_row
  cpu0=$(cpu_seconds "$PID")
  rss0=$(status_kib "$PID" VmRSS)
  log "$name: ingesting $SERIES series x $HOURS h ($STEPS steps) with $CONNECTIONS connections"
  /usr/bin/time -f 'loadgen_cpu_s=%U+%S loadgen_maxrss_kib=%M' -o "$dir/loadgen.time" \
    timeout "$INGEST_TIMEOUT" "$LOADGEN" --url "$WRITE_URL" --series "$SERIES" --hours "$HOURS" \
      --start "$START_MS" --connections "$CONNECTIONS" --batch-series "$BATCH" \
      --steps-per-request "$STEPS_PER_REQ" --progress-s 30 >"$dir/loadgen.out" 2>"$dir/loadgen.err" \
    || log "warning: $name: loadgen exited with $? (see $dir/loadgen.err)"
  cpu1=$(cpu_seconds "$PID")
  rss=$(status_kib "$PID" VmRSS)
  hwm=$(status_kib "$PID" VmHWM)
  res=$(grep '^RESULT' "$dir/loadgen.out" || true)
  [[ -n $res ]] || { stop_pid "$PID"; die "$name: no result from loadgen: $(tail -3 "$dir/loadgen.err")"; }
  samples=$(sed -n 's/.*samples_ok=\([0-9]*\).*/\1/p' <<<"$res")
  elapsed=$(sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p' <<<"$res")
  rate=$(sed -n 's/.*samples_per_s=\([0-9]*\).*/\1/p' <<<"$res")
  if [[ -n ${NO_PERSIST:-} ]]; then
    log "$name: $samples samples in $elapsed s; not persisting (NO_PERSIST)"
    persisted="0 not persisted (NO_PERSIST)"
    probe_row=$(printf 'skipped\tskipped\tnone')
  else
    log "$name: $samples samples in $elapsed s; persisting"
    persisted=$(persist "$name" "$dir")
  fi
  cpu2=$(cpu_seconds "$PID")
  bytes=${persisted%% *}
  what=${persisted#* }
  if [[ -z ${NO_PERSIST:-} ]]; then
    log "$name: $bytes bytes ($what); probing reads"
    probe_row=$(probes "$name" "$dir")
  fi
  local wal_bytes=0
  case $name in
    cairn) wal_bytes=$(bytes_of "$dir/data/wal") ;;
    prometheus) wal_bytes=$(( $(bytes_of "$dir/data/wal") + $(bytes_of "$dir/data/chunks_head") )) ;;
  esac
  stop_pid "$PID"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$samples" "$elapsed" "$rate" \
    "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" \
    "$(awk -v a="$cpu0" -v b="$cpu2" 'BEGIN { print b - a }')" \
    "$rss" "$hwm" "$bytes" "$what" "$wal_bytes" "$probe_row" "$(tail -1 "$dir/loadgen.time")" "$rss0" >>"$RESULTS"
}

table() {
  cat <<EOF
Ingest benchmark: $SERIES series x $HOURS h at 15 s ($(( SERIES * STEPS )) samples), $CONNECTIONS connections,
$BATCH series x $STEPS_PER_REQ step(s) per request, remote write 1.0. Machine: $(nproc) cores,
$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM.
The load generator runs on the same machine and takes CPU too; server CPU is the server process only.

| system | samples ingested | ingest s | samples/s | CPU s / 1M samples (ingest) | CPU s / 1M (ingest + persist) | RSS / series (end of ingest) | RSS growth / series | peak RSS / series | bytes / sample persisted | /api/v1/series, all | one series, whole range |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
  awk -F'\t' -v series="$SERIES" '{
    m = $2 / 1e6; if (m == 0) m = 1
    printf "| %s | %.0f | %.1f | %.0f | %.2f | %.2f | %.2f KiB | %.2f KiB | %.2f KiB | %.2f | %s | %s |\n",
      $1, $2, $3, $4, $5 / m, $6 / m, $7 / series, ($7 - $16) / series, $8 / series, ($2 > 0 ? $9 / $2 : 0), $12, $13
  }' "$RESULTS"
  echo
  echo "What was measured on disk, and read method:"
  awk -F'\t' '{ printf "- %s: %s; %s bytes of WAL (and head chunks) not counted; read: %s; %s\n", $1, $10, $11, $14, $15 }' "$RESULTS"
}

mkdir -p "$WORK"
log "work dir $WORK; start $START_MS, end $END_MS, $STEPS steps"
printf 'SERIES=%s\nHOURS=%s\nSTART_MS=%s\nEND_MS=%s\n' "$SERIES" "$HOURS" "$START_MS" "$END_MS" >"$WORK/range.env"
: >"$RESULTS"
for s in $SYSTEMS; do run_system "$s"; done
table | tee "$WORK/results.md"
