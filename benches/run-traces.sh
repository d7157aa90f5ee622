#!/usr/bin/env bash
# Trace benchmark: Cairn fed the generated shop traces over OTLP/HTTP (protobuf, gzip, in
# requests of about 1000 spans grouped by resource, as the Collector sends them), flushed
# to its object store, then queried through the Tempo API: lookups by id and TraceQL
# searches over 1 h and 24 h; every answer is checked against the corpus.
#
# usage: benches/run-traces.sh [MSPANS] [HOURS]          (defaults 20.5 and 24: at least 20M spans)
# environment:
#   WORK=/tmp/...          where the data dir, logs and results go (default: a new temp dir)
#   CONNECTIONS=4          OTLP connections (one Collector each)
#   BATCH_SPANS=1000       spans per request (the batch processor's send_batch_size)
#   COMPRESSION=gzip       or none
#   SEED=1                 corpus seed
#   END_NS=...             end of the corpus window (default: now, rounded down to the minute)
#   LOOKUPS=300            traces looked up by id
#   RUNS=5 WARMUP=1        timed and untimed runs per search
#   LIMIT=100000           the searches' limit (must exceed every answer)
#   SETTLE=20              seconds between the flush settling and the first query
#   ONLY="lookup q2"       only these (names as in the RESULT lines)
#   DRY_RUN=1              first measure the loader alone (--dry-run; 0 to skip)
#   INGEST_TIMEOUT=7200 PERSIST_TIMEOUT=1800 QUERY_TIMEOUT=600   limits in seconds
#   CAIRN=target/release/cairn   NO_BUILD=1 to use the binaries as they are
# Exit status: 0 when every answer is right, 1 otherwise (and on any failure).
set -euo pipefail

MSPANS=${1:-20.5}
HOURS=${2:-24}
CONNECTIONS=${CONNECTIONS:-4}
BATCH_SPANS=${BATCH_SPANS:-1000}
COMPRESSION=${COMPRESSION:-gzip}
SEED=${SEED:-1}
LOOKUPS=${LOOKUPS:-300}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
LIMIT=${LIMIT:-100000}
SETTLE=${SETTLE:-20}
DRY_RUN=${DRY_RUN:-1}
INGEST_TIMEOUT=${INGEST_TIMEOUT:-7200}
PERSIST_TIMEOUT=${PERSIST_TIMEOUT:-1800}
QUERY_TIMEOUT=${QUERY_TIMEOUT:-600}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CAIRN=${CAIRN:-$TARGET_DIR/release/cairn}
TRACELOAD=$TARGET_DIR/release/traceload
TRACEQ=$TARGET_DIR/release/traceq
WORK=${WORK:-$(mktemp -d /tmp/cairn-traces-bench.XXXXXX)}
CLK_TCK=$(getconf CLK_TCK)
PORT=19200
BASE=http://127.0.0.1:$PORT

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -z ${NO_BUILD:-} ]]; then
  (cd "$ROOT" && cargo build --release -p cairn-benches --bin traceload --bin traceq)
  (cd "$ROOT" && cargo build --release -p cairn)
fi
[[ -x $TRACELOAD && -x $TRACEQ && -x $CAIRN ]] || die "missing $TRACELOAD, $TRACEQ or $CAIRN"

# utime + stime of a process in seconds (fields 14 and 15 of /proc/PID/stat, counted after
# the parenthesised command name).
cpu_seconds() {
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat")
  awk -v tck="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / tck }' <<<"$rest"
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
bytes_of() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
# Bytes of the files under a directory whose path matches a find(1) -path pattern.
bytes_matching() { # dir pattern [name pattern]
  [[ -d $1 ]] || { echo 0; return; }
  find "$1" -type f -path "$2" -name "${3:-*}" -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }'
}
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
SPEC=(--mspans "$MSPANS" --hours "$HOURS" --end "$END_NS" --seed "$SEED" --samples "$LOOKUPS")
SEND=(--connections "$CONNECTIONS" --batch-spans "$BATCH_SPANS" --compression "$COMPRESSION" --clk-tck "$CLK_TCK")
"$TRACELOAD" "${SPEC[@]}" --plan-only >"$WORK/plan.txt"
log "work dir $WORK; $(head -1 "$WORK/plan.txt")"

LOADER_DRY=
if [[ $DRY_RUN == 1 ]]; then
  log "loader alone (dry run: generate, encode, compress, no sending)"
  /usr/bin/time -f 'wall_s=%e user_s=%U sys_s=%S maxrss_kib=%M' -o "$WORK/dry.time" \
    "$TRACELOAD" "${SPEC[@]}" "${SEND[@]}" --dry-run --progress-s 0 \
      --expect "$WORK/expect-dry.json" >"$WORK/dry.out" 2>"$WORK/dry.err" \
    || die "dry run failed (see $WORK/dry.err)"
  LOADER_DRY=$(grep '^RESULT' "$WORK/dry.out")
fi

# Limits raised so that the benchmark measures the engine, not the limits: a 24 h backfill
# at full speed.
mkdir -p "$WORK/cairn"
cat >"$WORK/cairn/cairn.yaml" <<EOF
server:
  listen: 127.0.0.1:$PORT
storage:
  data_dir: $WORK/cairn/data
limits:
  max_request_body_size: 64MiB
  max_decoded_size: 64MiB
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

log "sending about $MSPANS M spans over $HOURS h with $CONNECTIONS connections ($COMPRESSION)"
/usr/bin/time -f 'wall_s=%e user_s=%U sys_s=%S maxrss_kib=%M' -o "$WORK/load.time" \
  timeout "$INGEST_TIMEOUT" "$TRACELOAD" "${SPEC[@]}" "${SEND[@]}" --url "$BASE/v1/traces" \
    --progress-s 30 --expect "$WORK/expect.json" >"$WORK/load.out" 2>"$WORK/load.err" \
  || log "warning: traceload exited with $? (see $WORK/load.err)"
CPU1=$(cpu_seconds "$PID")
RSS1=$(status_kib "$PID" VmRSS)
HWM1=$(status_kib "$PID" VmHWM)
LOAD=$(grep '^RESULT' "$WORK/load.out" || true)
[[ -n $LOAD ]] || die "no result from traceload: $(tail -3 "$WORK/load.err")"
SPANS_FAILED=$(field spans_failed "$LOAD")
if [[ $SPANS_FAILED != 0 ]]; then
  log "error: $SPANS_FAILED spans were refused (see $WORK/load.err); the answers cannot match"
fi

log "flushing"
FLUSH_T0=$(date +%s.%N)
curl -fsS -m "$PERSIST_TIMEOUT" -X POST "$BASE/api/v1/admin/flush" >"$WORK/cairn/flush.json" \
  || log "warning: flush failed: $(cat "$WORK/cairn/flush.json" 2>/dev/null)"
# Background compaction may rewrite blocks after the flush.
wait_stable "$WORK/cairn/data/objects" 20 "$PERSIST_TIMEOUT"
FLUSH_S=$(awk -v a="$FLUSH_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a - 20 }')
CPU2=$(cpu_seconds "$PID")
HWM2=$(status_kib "$PID" VmHWM)
OBJECTS=$WORK/cairn/data/objects
STORED=$(bytes_of "$OBJECTS")
STORED_TRACES=$(bytes_matching "$OBJECTS" '*trace*')
STORED_PARQUET=$(bytes_matching "$OBJECTS" '*trace*' '*.parquet')
WAL=$(bytes_of "$WORK/cairn/data/wal")

log "settling $SETTLE s, then querying ($LOOKUPS lookups; $RUNS runs after $WARMUP warm-ups per search)"
sleep "$SETTLE"
ONLY_ARGS=()
for q in ${ONLY:-}; do ONLY_ARGS+=(--only "$q"); done
QUERY_OK=1
"$TRACEQ" --url "$BASE" --pid "$PID" --expect "$WORK/expect.json" --lookups "$LOOKUPS" \
  --runs "$RUNS" --warmup "$WARMUP" --limit "$LIMIT" --timeout-s "$QUERY_TIMEOUT" \
  --clk-tck "$CLK_TCK" "${ONLY_ARGS[@]}" >"$WORK/query.out" 2>"$WORK/query.log" || QUERY_OK=0
HWM3=$(status_kib "$PID" VmHWM)
stop_cairn

SPANS=$(field spans_ok "$LOAD")
TRACES=$(field traces "$LOAD")
INGEST_S=$(field elapsed_s "$LOAD")
# a / b with `digits` decimals, "-" when b is 0.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b + 0 == 0) print "-"; else printf("%." d "f", a / b) }'; }
report() {
  local mspans cpu_ingest cpu_flush
  mspans=$(awk -v s="$SPANS" 'BEGIN { printf "%.3f", s / 1e6 }')
  cpu_ingest=$(awk -v a="$CPU0" -v b="$CPU1" 'BEGIN { printf "%.1f", b - a }')
  cpu_flush=$(awk -v a="$CPU0" -v b="$CPU2" 'BEGIN { printf "%.1f", b - a }')
  cat <<EOF
Trace benchmark: $mspans M spans in $TRACES traces ($HOURS h, seed $SEED, $(field error_spans "$LOAD") error spans),
sent as OTLP/HTTP protobuf ($COMPRESSION) over $CONNECTIONS connections in requests of $BATCH_SPANS spans. Machine: $(nproc) cores,
$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM.
The loader runs on the same machine; Cairn's CPU is Cairn's process alone (nothing subtracted).

| figure | value |
| --- | ---: |
| spans accepted | $SPANS ($(field spans_failed "$LOAD") refused) |
| ingest wall time | $INGEST_S s ($(ratio "$SPANS" "$INGEST_S" 0) spans/s) |
| Cairn CPU, ingest | $cpu_ingest s = $(ratio "$cpu_ingest" "$mspans") CPU s per 1M spans |
| Cairn CPU, ingest + flush | $cpu_flush s = $(ratio "$cpu_flush" "$mspans") CPU s per 1M spans (flush and compaction took about ${FLUSH_S} s) |
| request bodies: protobuf, on the wire | $(ratio "$(field body_bytes "$LOAD")" "$SPANS" 1), $(ratio "$(field wire_bytes "$LOAD")" "$SPANS" 1) bytes per span |
| stored trace blocks (Parquet files under */trace*, after flush and compaction) | $STORED_PARQUET bytes = $(ratio "$STORED_PARQUET" "$SPANS" 1) bytes per span |
| all files under */trace* (blocks, indexes, metadata) | $STORED_TRACES bytes = $(ratio "$STORED_TRACES" "$SPANS" 1) bytes per span |
| everything under data/objects | $STORED bytes |
| WAL left after the flush (not counted) | $WAL bytes |
| RSS: start, end of ingest | $(( RSS0 / 1024 )) MiB, $(( RSS1 / 1024 )) MiB |
| peak RSS (VmHWM): ingest, + flush, + queries | $(( HWM1 / 1024 )) MiB, $(( HWM2 / 1024 )) MiB, $(( HWM3 / 1024 )) MiB |
| loader while sending: CPU, per core | $(field loader_cpu_s "$LOAD") s, $(field loader_spans_per_cpu_s "$LOAD") spans/s per core |
EOF
  if [[ -n $LOADER_DRY ]]; then
    echo "| loader alone (dry run): wall, CPU, per core | $(field elapsed_s "$LOADER_DRY") s, $(field loader_cpu_s "$LOADER_DRY") s ($(field gzip_s "$LOADER_DRY") s in gzip), $(field loader_spans_per_cpu_s "$LOADER_DRY") spans/s per core |"
  fi
  echo
  echo "Lookups and searches ($LOOKUPS ids looked up once each after $WARMUP warm-up pass over ten; searches $RUNS runs after $WARMUP warm-ups; one connection, timed to the last body byte; server CPU from /proc):"
  echo
  sed -n '/^|/p' "$WORK/query.out"
  echo
  grep '^CHECK' "$WORK/query.log" | sed 's/^/- /' || true
}
report | tee "$WORK/results.md"
if [[ $QUERY_OK != 1 || $SPANS_FAILED != 0 ]]; then
  log "FAILED: wrong answers, missing endpoints or refused spans (see $WORK/query.log, $WORK/load.err)"
  exit 1
fi
log "all answers match the corpus; results in $WORK/results.md"
