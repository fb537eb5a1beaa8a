#!/usr/bin/env bash
# Builds every client driver present in this checkout, starts a broker from the jar and runs the
# conformance suite (conformance/run.py) over all of them, matrix included.
#
#   conformance/run-all.sh                    # build what is there, run everything
#   WIREBUS_JAR=/path/to/wirebus.jar conformance/run-all.sh      # another broker jar
#   CONFORMANCE_SKIP=rust,go conformance/run-all.sh              # leave clients out on purpose
#   CONFORMANCE_NO_JAVA_BUILD=1 conformance/run-all.sh           # the jars are already built
#   conformance/run-all.sh --only cut-mid-stream                 # extra arguments go to run.py
#
# A client directory that is absent is skipped with a message. A client that is present but whose
# toolchain is missing or whose build fails fails the run (skip it explicitly with CONFORMANCE_SKIP).
set -euo pipefail
cd "$(dirname "$0")/.."

skip=",${CONFORMANCE_SKIP:-},"
clients=()
problems=()

skipped() { [[ "$skip" == *",$1,"* ]]; }

# Java: the driver jar and the broker jar (wirebus-cli), one Maven build
if skipped java; then
  echo "java: skipped (CONFORMANCE_SKIP)"
else
  if [ "${CONFORMANCE_NO_JAVA_BUILD:-}" != 1 ]; then
    echo "java: building wirebus-cli and wirebus-conformance-driver"
    ./mvnw -B -q -pl wirebus-cli,wirebus-conformance-driver -am package -DskipTests
  fi
  clients+=(java)
fi

# Python: no build; the driver is the module wirebus.conformance under clients/python/src
if skipped python; then
  echo "python: skipped (CONFORMANCE_SKIP)"
elif [ ! -d clients/python ]; then
  echo "python: no clients/python in this checkout: skipped"
elif [ -f clients/python/src/wirebus/conformance.py ] || [ -f clients/python/src/wirebus/conformance/__main__.py ]; then
  clients+=(python)
else
  problems+=("python: clients/python has no wirebus.conformance driver module")
fi

# Go: go build in clients/go
if skipped go; then
  echo "go: skipped (CONFORMANCE_SKIP)"
elif [ ! -d clients/go ]; then
  echo "go: no clients/go in this checkout: skipped"
elif ! command -v go >/dev/null 2>&1; then
  problems+=("go: clients/go is here but 'go' is not installed (apt-get install golang-go, or CONFORMANCE_SKIP=go)")
else
  echo "go: building clients/go/bin/wirebus-conformance"
  if (cd clients/go && go build -o bin/wirebus-conformance ./cmd/wirebus-conformance); then
    clients+=(go)
  else
    problems+=("go: go build ./cmd/wirebus-conformance failed")
  fi
fi

# Rust: cargo build --offline in clients/rust (a [[bin]] named wirebus-conformance)
if skipped rust; then
  echo "rust: skipped (CONFORMANCE_SKIP)"
elif [ ! -d clients/rust ]; then
  echo "rust: no clients/rust in this checkout: skipped"
elif ! command -v cargo >/dev/null 2>&1; then
  problems+=("rust: clients/rust is here but 'cargo' is not installed (apt-get install cargo, or CONFORMANCE_SKIP=rust)")
else
  echo "rust: building clients/rust/target/debug/wirebus-conformance"
  if (cd clients/rust && cargo build --offline --quiet) && [ -x clients/rust/target/debug/wirebus-conformance ]; then
    clients+=(rust)
  else
    problems+=("rust: cargo build --offline failed or built no wirebus-conformance binary")
  fi
fi

jar="${WIREBUS_JAR:-wirebus-cli/target/wirebus.jar}"
if [ ! -f "$jar" ]; then
  problems+=("broker jar $jar is missing (build wirebus-cli, or set WIREBUS_JAR)")
fi

if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do echo "FAIL  build: $p"; done
  echo "0 passed, ${#problems[@]} failed"
  exit 1
fi
if [ ${#clients[@]} -eq 0 ]; then
  echo "no client to run"
  echo "0 passed, 1 failed"
  exit 1
fi

logs="${CONFORMANCE_LOGS:-$(mktemp -d /tmp/wirebus-conformance.XXXXXX)}"
list="$(IFS=,; echo "${clients[*]}")"
exec python3 conformance/run.py --jar "$jar" --clients "$list" --logs "$logs" "$@"
