#!/usr/bin/env bash
# The one test command, locally and in CI: installs what the end-to-end tests need when it is
# missing (Debian's prometheus and prometheus-alertmanager, PyPI's moto[server], pyarrow and
# the log clients, npm's @grafana/lezer-logql and @grafana/lezer-traceql), then checks
# formatting and lints, runs every unit, integration and end-to-end test, and builds the fuzz
# targets.
set -euo pipefail
cd "$(dirname "$0")"

started=$SECONDS
section() {
  printf '\n==== %s (%ds) ====\n' "$*" "$((SECONDS - started))"
}

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# pip refuses system-wide installs on distributions that manage Python (PEP 668); fall back
# to the user's site then.
pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages "$@"
}

section "test dependencies"
export PATH="$HOME/.local/bin:$PATH"
if ! command -v prometheus >/dev/null 2>&1; then
  echo "installing the Debian package prometheus"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if ! command -v amtool >/dev/null 2>&1; then
  echo "installing the Debian package prometheus-alertmanager (for amtool)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
fi
if ! command -v moto_server >/dev/null 2>&1; then
  echo "installing moto[server]"
  pip_install 'moto[server]'
fi
if ! python3 -c 'import pyarrow.parquet' >/dev/null 2>&1; then
  echo "installing pyarrow"
  pip_install pyarrow
fi
# The real log, trace and metric clients of tests/e2e_logs_clients.rs, tests/e2e_traces_clients.rs
# and tests/e2e_otlp_metrics.rs
# (scripts in tests/clients/).
log_clients=(fluent-logger==0.11.1 python-logging-loki==0.3.1 opentelemetry-sdk==1.45.2
  opentelemetry-exporter-otlp-proto-grpc==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2)
log_client_imports='import fluent.sender, logging_loki, opentelemetry.sdk._logs
import opentelemetry.exporter.otlp.proto.grpc._log_exporter
import opentelemetry.exporter.otlp.proto.http._log_exporter
import opentelemetry.exporter.otlp.proto.grpc.trace_exporter
import opentelemetry.exporter.otlp.proto.http.trace_exporter
import opentelemetry.exporter.otlp.proto.grpc.metric_exporter
import opentelemetry.exporter.otlp.proto.http.metric_exporter'
if ! python3 -c "$log_client_imports" >/dev/null 2>&1; then
  echo "installing ${log_clients[*]}"
  pip_install "${log_clients[@]}"
  python3 -c "$log_client_imports"
fi
# cairn-logql's and cairn-traceql's parse-acceptance tests run Grafana's editor grammars under Node.js.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing the Debian packages nodejs and npm"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
lezer_version() {
  node -p "require('./$1').${2:-version}" 2>/dev/null || true
}
# Grafana's editor grammars, one per query language: cairn-logql's and cairn-traceql's
# parse-acceptance tests run them.
lezer_install() {
  local dir=$1 package=$2 pinned
  pinned=$(lezer_version "$dir/package.json" "dependencies['$package']")
  if [ "$(lezer_version "$dir/node_modules/$package/package.json")" != "$pinned" ]; then
    echo "installing $package $pinned (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
lezer_install crates/cairn-logql/tests/lezer @grafana/lezer-logql
lezer_install crates/cairn-traceql/tests/lezer @grafana/lezer-traceql
prometheus --version 2>&1 | sed -n 1p
amtool --version 2>&1 | sed -n 1p
echo "moto $(python3 -c 'import moto; print(moto.__version__)'), pyarrow $(python3 -c 'import pyarrow; print(pyarrow.__version__)')"
python3 -m pip list --disable-pip-version-check 2>/dev/null |
  grep -iE '^(fluent-logger|python-logging-loki|opentelemetry-(sdk|exporter-otlp-proto-(grpc|http))) ' || true
echo "node $(node --version)," \
  "@grafana/lezer-logql $(lezer_version crates/cairn-logql/tests/lezer/node_modules/@grafana/lezer-logql/package.json)," \
  "@grafana/lezer-traceql $(lezer_version crates/cairn-traceql/tests/lezer/node_modules/@grafana/lezer-traceql/package.json)"

section "promtool check config config/prometheus.yml"
promtool check config config/prometheus.yml

section "promtool check rules config/rules/*.yml"
promtool check rules config/rules/*.yml

section "promtool check rules on cairn slo generate (config/slos, Sloth conformance files)"
cargo build --quiet -p cairn
slo_rules=$(mktemp -d)
mkdir "$slo_rules/logql"
for f in config/slos/*.yml ../shared/conformance/sloth/*.yml; do
  [ -e "$f" ] || continue
  ./target/debug/cairn slo generate "$f" -o "$slo_rules/$(basename "$f")" \
    --logql-out "$slo_rules/logql/$(basename "$f")"
done
promtool check rules "$slo_rules"/*.yml
# SLIs over logs compile into Loki ruler groups too, which promtool cannot read.
if compgen -G "$slo_rules/logql/*.yml" >/dev/null; then
  ./target/debug/cairn check rules --logql "$slo_rules"/logql/*.yml
fi
rm -rf "$slo_rules"

section "cargo fmt --all --check"
cargo fmt --all --check

section "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

section "cargo test --workspace --no-fail-fast"
cargo test --workspace --no-fail-fast

if [ -d fuzz ]; then
  section "cargo build --manifest-path fuzz/Cargo.toml"
  cargo build --manifest-path fuzz/Cargo.toml
fi

section "all checks passed"
