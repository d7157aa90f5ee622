#!/usr/bin/env bash
# Query macro benchmark: the same dashboard queries against Cairn, Prometheus and
# VictoriaMetrics, each restarted on the same loaded data.
#
# usage: benches/run-query.sh [SERIES] [HOURS]        (defaults 100000 and 4; quick: 10000 1)
# environment:
#   WORK=/tmp/...        where data, logs and results go; when $WORK/range.env exists (an
#                        earlier load, by this script or run-ingest.sh) the load is skipped
#   SYSTEMS="cairn prometheus victoriametrics"   which systems to load and query
#   CAIRN_HEAD=1         also load a second Cairn without flushing it, so that its recent
#                        data is queried from the head (replayed from the WAL); 0 to skip
#   RUNS=10 WARMUP=2     timed and untimed runs per query and system
#   SETTLE=20            seconds between the restarts and the first query
#   ONLY="q1 q2"         only these queries (names as in the table)
#   CAIRN=... PROMETHEUS=... VM=...   binaries (as run-ingest.sh); NO_BUILD=1 to skip builds
set -euo pipefail

SERIES=${1:-100000}
HOURS=${2:-4}
SYSTEMS=${SYSTEMS:-"cairn prometheus victoriametrics"}
CAIRN_HEAD=${CAIRN_HEAD:-1}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
SETTLE=${SETTLE:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CAIRN=${CAIRN:-$TARGET_DIR/release/cairn}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
VM=${VM:-/usr/bin/victoria-metrics}
QBENCH=$TARGET_DIR/release/qbench
WORK=${WORK:-$(mktemp -d /tmp/cairn-query-bench.XXXXXX)}
export CAIRN PROMETHEUS VM

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -z ${NO_BUILD:-} ]]; then
  (cd "$ROOT" && cargo build --release -p cairn-benches)
  if [[ " $SYSTEMS " == *" cairn "* ]]; then (cd "$ROOT" && cargo build --release -p cairn); fi
fi
[[ -x $QBENCH ]] || die "no $QBENCH"

mkdir -p "$WORK"
if [[ ! -f $WORK/range.env ]]; then
  log "loading $SERIES series x $HOURS h into $SYSTEMS (work dir $WORK)"
  WORK=$WORK SYSTEMS=$SYSTEMS NO_BUILD=1 "$ROOT/benches/run-ingest.sh" "$SERIES" "$HOURS" \
    >"$WORK/ingest.out" 2>"$WORK/ingest.log" || die "load failed (see $WORK/ingest.log)"
fi
# shellcheck disable=SC1091
source "$WORK/range.env"
if [[ $CAIRN_HEAD == 1 && " $SYSTEMS " == *" cairn "* && ! -d $WORK/head/cairn/data ]]; then
  log "loading the same data into a second Cairn, not flushed"
  WORK=$WORK/head SYSTEMS=cairn NO_BUILD=1 NO_PERSIST=1 START_MS=$START_MS \
    "$ROOT/benches/run-ingest.sh" "$SERIES" "$HOURS" >"$WORK/ingest-head.out" 2>"$WORK/ingest-head.log" \
    || die "head load failed (see $WORK/ingest-head.log)"
fi
log "data: $SERIES series x $HOURS h, $START_MS to $END_MS"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

wait_http() { # url timeout_s
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.5
  done
}

SYS_ARGS=()
PID_ARGS=()
# Restarts one system on its loaded data: name data_dir log port
start() {
  local name=$1 data=$2 logf=$3 port=$4 ready pid
  case $name in
    cairn*)
      "$CAIRN" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$logf" 2>&1 &
      pid=$!; ready=http://127.0.0.1:$port/-/ready ;;
    prometheus)
      printf 'global:\n  scrape_interval: 15s\n' >"$WORK/prometheus.yml"
      "$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$data" \
        --storage.tsdb.retention.time=3650d --web.listen-address="127.0.0.1:$port" \
        --web.enable-remote-write-receiver --web.enable-admin-api >"$logf" 2>&1 &
      pid=$!; ready=http://127.0.0.1:$port/-/ready ;;
    victoriametrics)
      # No rollup result cache: every run computes its answer.
      "$VM" -storageDataPath="$data" -retentionPeriod=100y -httpListenAddr="127.0.0.1:$port" \
        -search.maxSeries=100000000 -search.disableCache -loggerLevel=WARN >"$logf" 2>&1 &
      pid=$!; ready=http://127.0.0.1:$port/health ;;
  esac
  PIDS+=("$pid")
  wait_http "$ready" 900 || die "$name did not become ready (see $logf)"
  log "$name ready (pid $pid) on $data"
  SYS_ARGS+=(--system "$name=http://127.0.0.1:$port")
  PID_ARGS+=(--pid "$name=$pid")
}

# Prometheus first: it is the reference of the result check.
for s in prometheus victoriametrics cairn; do
  [[ " $SYSTEMS " == *" $s "* ]] || continue
  case $s in
    prometheus) start prometheus "$WORK/prometheus/data" "$WORK/query-prometheus.log" 19090 ;;
    victoriametrics) start victoriametrics "$WORK/victoriametrics/data" "$WORK/query-victoriametrics.log" 18428 ;;
    cairn)
      start cairn "$WORK/cairn/data" "$WORK/query-cairn.log" 19009
      if [[ $CAIRN_HEAD == 1 && -d $WORK/head/cairn/data ]]; then
        start cairn_head "$WORK/head/cairn/data" "$WORK/query-cairn-head.log" 19010
      fi ;;
  esac
done
log "settling $SETTLE s"
sleep "$SETTLE"

ONLY_ARGS=()
for q in ${ONLY:-}; do ONLY_ARGS+=(--only "$q"); done
log "querying: $RUNS runs after $WARMUP warm-ups per query and system"
"$QBENCH" "${SYS_ARGS[@]}" "${PID_ARGS[@]}" "${ONLY_ARGS[@]}" --data-start-ms "$START_MS" \
  --data-end-ms "$END_MS" --series "$SERIES" --runs "$RUNS" --warmup "$WARMUP" \
  --clk-tck "$(getconf CLK_TCK)" >"$WORK/query.out" 2>"$WORK/query.log" \
  || { cat "$WORK/query.log" >&2; die "query driver failed"; }
{
  cat <<EOF
Query benchmark: $SERIES series x $HOURS h at 15 s, $RUNS runs after $WARMUP warm-ups per query
and system, one connection, timed to the last body byte. Machine: $(nproc) cores,
$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1). cairn: data in Parquet blocks (flushed);
cairn_head: the same data not flushed (older data in blocks, the last 1-2 h in the head).

EOF
  sed -n '/^|/p' "$WORK/query.out"
  echo
  grep '^CHECK' "$WORK/query.log" | sed 's/^/- /' || true
} | tee "$WORK/results.md"
