#!/usr/bin/env bash
# Log benchmark: Cairn fed the generated Kubernetes log corpus over the Loki push API
# (protobuf + snappy, as Promtail and Alloy send it), flushed to its object store, then
# queried with LogQL over the Loki query API; every answer is checked against the corpus.
#
# usage: benches/run-logs.sh [GB] [HOURS]              (defaults 10 and 24)
# environment:
#   WORK=/tmp/...          where the data dir, logs and results go (default: a new temp dir)
#   CONNECTIONS=4          push connections (one agent each)
#   BATCH_BYTES=1048576    raw line bytes per push request (Promtail's batchsize)
#   FORMAT=protobuf        or json
#   CLUSTERS=3 SEED=1      corpus shape
#   END_NS=...             end of the corpus window (default: now, rounded down to the minute)
#   RUNS=5 WARMUP=1        timed and untimed runs per query
#   SETTLE=20              seconds between the flush settling and the first query
#   ONLY="q1 q2"           only these queries (names as in the table)
#   DRY_RUN=1              first measure the loader alone (--dry-run; 0 to skip)
#   INGEST_TIMEOUT=7200 PERSIST_TIMEOUT=1800 QUERY_TIMEOUT=600   limits in seconds
#   CAIRN=target/release/cairn   NO_BUILD=1 to use the binaries as they are
# Exit status: 0 when every answer is right, 1 otherwise (and on any failure).
set -euo pipefail

GB=${1:-10}
HOURS=${2:-24}
CONNECTIONS=${CONNECTIONS:-4}
BATCH_BYTES=${BATCH_BYTES:-1048576}
FORMAT=${FORMAT:-protobuf}
CLUSTERS=${CLUSTERS:-3}
SEED=${SEED:-1}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
SETTLE=${SETTLE:-20}
DRY_RUN=${DRY_RUN:-1}
INGEST_TIMEOUT=${INGEST_TIMEOUT:-7200}
PERSIST_TIMEOUT=${PERSIST_TIMEOUT:-1800}
QUERY_TIMEOUT=${QUERY_TIMEOUT:-600}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CAIRN=${CAIRN:-$TARGET_DIR/release/cairn}
LOGLOAD=$TARGET_DIR/release/logload
LOGQ=$TARGET_DIR/release/logq
WORK=${WORK:-$(mktemp -d /tmp/cairn-logs-bench.XXXXXX)}
CLK_TCK=$(getconf CLK_TCK)
PORT=19100
BASE=http://127.0.0.1:$PORT

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -z ${NO_BUILD:-} ]]; then
  (cd "$ROOT" && cargo build --release -p cairn-benches --bin logload --bin logq)
  (cd "$ROOT" && cargo build --release -p cairn)
fi
[[ -x $LOGLOAD && -x $LOGQ && -x $CAIRN ]] || die "missing $LOGLOAD, $LOGQ or $CAIRN"

# utime + stime of a process in seconds (fields 14 and 15 of /proc/PID/stat, counted after
# the parenthesised command name).
cpu_seconds() {
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat")
  awk -v tck="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / tck }' <<<"$rest"
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
bytes_of() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

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

PID=
stop_cairn() {
  [[ -n $PID ]] || return 0
  kill -TERM "$PID" 2>/dev/null || return 0
  for _ in $(seq 1 240); do
    kill -0 "$PID" 2>/dev/null || { wait "$PID" 2>/dev/null || true; PID=; return 0; }
    sleep 0.5
  done
  log "warning: cairn ignored SIGTERM for 120 s, killing it"
  kill -KILL "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
}
trap stop_cairn EXIT

mkdir -p "$WORK"
if [[ -z ${END_NS:-} ]]; then
  END_NS=$(( $(date +%s) / 60 * 60 * 1000000000 ))
fi
SPEC=(--gigabytes "$GB" --hours "$HOURS" --end "$END_NS" --clusters "$CLUSTERS" --seed "$SEED")
"$LOGLOAD" "${SPEC[@]}" --plan-only >"$WORK/plan.txt"
log "work dir $WORK; $(head -1 "$WORK/plan.txt")"

LOADER_DRY=
if [[ $DRY_RUN == 1 ]]; then
  log "loader alone (dry run: generate, encode, compress, no sending)"
  /usr/bin/time -f 'wall_s=%e user_s=%U sys_s=%S maxrss_kib=%M' -o "$WORK/dry.time" \
    "$LOGLOAD" "${SPEC[@]}" --dry-run --connections "$CONNECTIONS" --batch-bytes "$BATCH_BYTES" \
      --format "$FORMAT" --clk-tck "$CLK_TCK" --progress-s 0 >"$WORK/dry.out" 2>"$WORK/dry.err" \
    || die "dry run failed (see $WORK/dry.err)"
  LOADER_DRY=$(grep '^RESULT' "$WORK/dry.out")
fi

# Limits raised so that the benchmark measures the engine, not the limits: a 24 h backfill
# at full speed, a thousand streams, and entries as old as the window.
MAX_AGE_H=$(awk -v h="$HOURS" 'BEGIN { printf "%d", h + 24 }')
mkdir -p "$WORK/cairn"
cat >"$WORK/cairn/cairn.yaml" <<EOF
server:
  listen: 127.0.0.1:$PORT
storage:
  data_dir: $WORK/cairn/data
limits:
  max_request_body_size: 64MiB
  max_decoded_size: 64MiB
  logs:
    ingestion_rate: 4GiB
    ingestion_burst_size: 8GiB
    max_streams_per_tenant: 100000
    max_line_size: 1MiB
    reject_old_samples_max_age: ${MAX_AGE_H}h
    max_entries_limit_per_query: 5000
EOF
"$CAIRN" check config "$WORK/cairn/cairn.yaml" >"$WORK/cairn/check.out" 2>&1 \
  || die "config refused: $(cat "$WORK/cairn/check.out")"

log "starting cairn"
"$CAIRN" serve --config "$WORK/cairn/cairn.yaml" >"$WORK/cairn/server.log" 2>&1 &
PID=$!
wait_http "$BASE/-/ready" 120 || die "cairn did not become ready (see $WORK/cairn/server.log)"
sleep 3
CPU0=$(cpu_seconds "$PID")
RSS0=$(status_kib "$PID" VmRSS)

log "pushing $GB GB over $HOURS h with $CONNECTIONS connections ($FORMAT)"
/usr/bin/time -f 'wall_s=%e user_s=%U sys_s=%S maxrss_kib=%M' -o "$WORK/load.time" \
  timeout "$INGEST_TIMEOUT" "$LOGLOAD" "${SPEC[@]}" --url "$BASE/loki/api/v1/push" \
    --connections "$CONNECTIONS" --batch-bytes "$BATCH_BYTES" --format "$FORMAT" \
    --clk-tck "$CLK_TCK" --progress-s 30 >"$WORK/load.out" 2>"$WORK/load.err" \
  || log "warning: logload exited with $? (see $WORK/load.err)"
CPU1=$(cpu_seconds "$PID")
RSS1=$(status_kib "$PID" VmRSS)
HWM1=$(status_kib "$PID" VmHWM)
LOAD=$(grep '^RESULT' "$WORK/load.out" || true)
[[ -n $LOAD ]] || die "no result from logload: $(tail -3 "$WORK/load.err")"
LINES_FAILED=$(field lines_failed "$LOAD")
if [[ $LINES_FAILED != 0 ]]; then
  log "error: $LINES_FAILED lines were refused (see $WORK/load.err); the answers cannot match"
fi

log "flushing"
FLUSH_T0=$(date +%s.%N)
curl -fsS -m "$PERSIST_TIMEOUT" -X POST "$BASE/api/v1/admin/flush" >"$WORK/cairn/flush.json" \
  || log "warning: flush failed: $(cat "$WORK/cairn/flush.json" 2>/dev/null)"
# Background compaction may rewrite blocks after the flush.
wait_stable "$WORK/cairn/data/objects" 20 "$PERSIST_TIMEOUT"
FLUSH_S=$(awk -v a="$FLUSH_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a - 20 }')
CPU2=$(cpu_seconds "$PID")
STORED=$(bytes_of "$WORK/cairn/data/objects")
STORED_LOGS=0
for d in "$WORK"/cairn/data/objects/*/logs; do
  [[ -d $d ]] && STORED_LOGS=$(( STORED_LOGS + $(bytes_of "$d") ))
done
WAL=$(bytes_of "$WORK/cairn/data/wal")

log "settling $SETTLE s, then querying ($RUNS runs after $WARMUP warm-ups)"
sleep "$SETTLE"
ONLY_ARGS=()
for q in ${ONLY:-}; do ONLY_ARGS+=(--only "$q"); done
QUERY_OK=1
"$LOGQ" --url "$BASE" --pid "$PID" --start-ns "$(field start_ns "$LOAD")" --end-ns "$(field end_ns "$LOAD")" \
  --target-bytes "$(field target_bytes "$LOAD")" --clusters "$CLUSTERS" --seed "$SEED" \
  --runs "$RUNS" --warmup "$WARMUP" --timeout-s "$QUERY_TIMEOUT" --clk-tck "$CLK_TCK" \
  "${ONLY_ARGS[@]}" >"$WORK/query.out" 2>"$WORK/query.log" || QUERY_OK=0
HWM2=$(status_kib "$PID" VmHWM)
stop_cairn

RAW=$(field bytes_ok "$LOAD")
LINES=$(field lines_ok "$LOAD")
INGEST_S=$(field elapsed_s "$LOAD")
# a / b with `digits` decimals, "-" when b is 0.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b + 0 == 0) print "-"; else printf("%." d "f", a / b) }'; }
report() {
  local gb cpu_ingest cpu_flush
  gb=$(awk -v b="$RAW" 'BEGIN { printf "%.3f", b / 1e9 }')
  cpu_ingest=$(awk -v a="$CPU0" -v b="$CPU1" 'BEGIN { printf "%.1f", b - a }')
  cpu_flush=$(awk -v a="$CPU0" -v b="$CPU2" 'BEGIN { printf "%.1f", b - a }')
  cat <<EOF
Log benchmark: $gb GB of raw lines ($LINES lines, $(sed -n 's/.* \([0-9]*\) streams on.*/\1/p' "$WORK/plan.txt") streams, $HOURS h, $CLUSTERS clusters, seed $SEED),
pushed as $FORMAT over $CONNECTIONS connections in batches of $BATCH_BYTES raw bytes. Machine: $(nproc) cores,
$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM.
The loader runs on the same machine; Cairn's CPU is Cairn's process alone (nothing subtracted).

| figure | value |
| --- | ---: |
| raw lines pushed | $gb GB, $LINES lines |
| lines refused | $LINES_FAILED |
| ingest wall time | $INGEST_S s ($(ratio "$RAW" "$(awk -v s="$INGEST_S" 'BEGIN { print s * 1e6 }')" 1) MB/s) |
| Cairn CPU, ingest | $cpu_ingest s = $(ratio "$cpu_ingest" "$gb") CPU s per GB raw |
| Cairn CPU, ingest + flush | $cpu_flush s = $(ratio "$cpu_flush" "$gb") CPU s per GB raw (flush and compaction took about ${FLUSH_S} s) |
| stored (data/objects after flush and compaction) | $STORED bytes = $(ratio "$STORED" "$RAW" 4) bytes per raw byte ($(ratio "$RAW" "$STORED" 1)x) |
| of which under */logs | $STORED_LOGS bytes |
| WAL left after the flush (not counted) | $WAL bytes |
| RSS: start, end of ingest | $(( RSS0 / 1024 )) MiB, $(( RSS1 / 1024 )) MiB |
| peak RSS (VmHWM): ingest, ingest + flush + queries | $(( HWM1 / 1024 )) MiB, $(( HWM2 / 1024 )) MiB |
| loader while sending: CPU, per core | $(field loader_cpu_s "$LOAD") s, $(field loader_mb_per_cpu_s "$LOAD") MB/s per core |
EOF
  if [[ -n $LOADER_DRY ]]; then
    echo "| loader alone (dry run): wall, CPU, per core | $(field elapsed_s "$LOADER_DRY") s, $(field loader_cpu_s "$LOADER_DRY") s ($(field snappy_s "$LOADER_DRY") s in snappy), $(field loader_mb_per_cpu_s "$LOADER_DRY") MB/s per core |"
  fi
  echo
  echo "Queries (end at the last 5-minute boundary of the data; $RUNS runs after $WARMUP warm-ups, one connection, timed to the last body byte; server CPU per timed run from /proc):"
  echo
  sed -n '/^|/p' "$WORK/query.out"
  echo
  grep '^CHECK' "$WORK/query.log" | sed 's/^/- /' || true
}
report | tee "$WORK/results.md"
if [[ $QUERY_OK != 1 || $LINES_FAILED != 0 ]]; then
  log "FAILED: wrong answers or refused lines (see $WORK/query.log, $WORK/load.err)"
  exit 1
fi
log "all answers match the corpus; results in $WORK/results.md"
