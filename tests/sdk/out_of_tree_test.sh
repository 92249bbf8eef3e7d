#!/usr/bin/env bash
# Installs a genmem build tree into a temporary prefix, builds examples/nearest_neighbour against
# the installed CMake package, and runs the installed genmem program on the example scenario with
# the plugin from the example's build folder. Checks the installed layout, the library search
# paths and the run's summary.json. Everything is written to one temporary folder, which is
# removed at exit.
#
# Usage: out_of_tree_test.sh --build=DIR --source=DIR --cmake=PATH --generator=NAME --cxx=PATH
#          --libdir=DIR [--make-program=PATH] [--prefix-path=LIST]
# tests/integration/CMakeLists.txt passes the values of the build under test. Each option is one
# argument, so an empty value (an unset CMAKE_PREFIX_PATH) stays in place.
set -euo pipefail

build=""
source=""
cmake=""
generator=""
cxx=""
libdir=""
make_program=""
prefix_path=""
for argument in "$@"; do
  case "$argument" in
    --build=*) build=${argument#*=} ;;
    --source=*) source=${argument#*=} ;;
    --cmake=*) cmake=${argument#*=} ;;
    --generator=*) generator=${argument#*=} ;;
    --cxx=*) cxx=${argument#*=} ;;
    --libdir=*) libdir=${argument#*=} ;;
    --make-program=*) make_program=${argument#*=} ;;
    --prefix-path=*) prefix_path=${argument#*=} ;;
    *)
      echo "out_of_tree_test: unknown argument '$argument'; see the usage at the top of $0" >&2
      exit 2
      ;;
  esac
done
for name in build source cmake generator cxx libdir; do
  if [[ -z "${!name}" ]]; then
    echo "out_of_tree_test: --$name=... is missing" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/genmem-sdk-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
example_build="$work/example-build"
scenario="$source/examples/nearest_neighbour/tiny_nearest_neighbour.toml"
failures=0

fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}

# Runs a command with its output in $work/NAME.log, and prints the log and stops if it fails.
run_logged() {
  local name=$1
  shift
  echo "+ $*"
  if ! "$@" >"$work/$name.log" 2>&1; then
    cat "$work/$name.log" >&2
    echo "out_of_tree_test: '$name' failed (command above)" >&2
    exit 1
  fi
}

# Prints the value of "KEY": VALUE from a JSON file written by nlohmann::json::dump(2), which puts
# each key on its own line. Each key this script checks occurs once in summary.json.
json_value() {
  local file=$1 key=$2
  grep -E "^ *\"$key\": " "$file" | head -n 1 | sed -E 's/^[^:]*: *//; s/,$//'
}

# Checks that summary.json's KEY equals EXPECTED as a number.
expect_value() {
  local key=$1 expected=$2 value
  value=$(json_value "$work/run/summary.json" "$key")
  if [[ -z "$value" ]]; then
    fail "summary.json has no '$key'"
  elif ! awk -v value="$value" -v expected="$expected" \
    'BEGIN { exit !(value + 0 == expected + 0) }'; then
    fail "summary.json '$key' is $value, expected $expected"
  else
    echo "ok: $key = $value"
  fi
}

expect_file() {
  if [[ -f "$prefix/$1" ]]; then
    echo "ok: installed $1"
  else
    fail "'$1' is missing from the installed prefix"
  fi
}

# Checks that the dynamic linker resolves libgenmem_core for FILE from the installed lib folder
# (through the RUNPATH set at install time), not from the build tree.
expect_core_from_prefix() {
  local file=$1 resolved
  resolved=$(ldd "$prefix/$file" | awk '/libgenmem_core/ { print $3 }')
  # The RUNPATH gives paths such as <prefix>/bin/../lib/..., so compare canonical paths.
  if [[ -n "$resolved" ]]; then
    resolved=$(readlink -f "$resolved")
  fi
  if [[ "$resolved" == "$(readlink -f "$prefix/$libdir")/"* ]]; then
    echo "ok: $file loads $resolved"
  else
    fail "$file loads libgenmem_core from '${resolved:-nowhere}', expected $prefix/$libdir/"
  fi
}

# 1. Install the build tree.
run_logged install "$cmake" --install "$build" --prefix "$prefix"
expect_file bin/genmem
expect_file "$libdir/libgenmem_core.so"
expect_file include/genmem/plugin.hpp
expect_file include/genmem/associative_memory.hpp
for file in genmemConfig.cmake genmemConfigVersion.cmake genmemTargets.cmake GenmemPlugin.cmake; do
  expect_file "$libdir/cmake/genmem/$file"
done
for plugin in modern_hopfield vae; do
  expect_file "$libdir/genmem/plugins/libgenmem_plugin_$plugin.so"
done
expect_core_from_prefix bin/genmem
expect_core_from_prefix "$libdir/genmem/plugins/libgenmem_plugin_vae.so"
if ((failures > 0)); then
  echo "out_of_tree_test: the installed tree is incomplete; $failures check(s) failed" >&2
  exit 1
fi

# 2. Configure and build the example plugin against the installed package only.
search_path=$prefix
if [[ -n "$prefix_path" ]]; then
  search_path="$prefix;$prefix_path"
fi
configure=("$cmake" -S "$source/examples/nearest_neighbour" -B "$example_build" -G "$generator"
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$search_path")
if [[ -n "$make_program" ]]; then
  configure+=(-DCMAKE_MAKE_PROGRAM="$make_program")
fi
run_logged configure "${configure[@]}"
found=$(sed -n 's/^genmem_DIR:PATH=//p' "$example_build/CMakeCache.txt")
if [[ "$found" != "$prefix/$libdir/cmake/genmem" ]]; then
  echo "out_of_tree_test: find_package(genmem) used '$found'," \
    "expected $prefix/$libdir/cmake/genmem" >&2
  exit 1
fi
run_logged example-build "$cmake" --build "$example_build"
plugin_file="$example_build/libgenmem_plugin_nearest_neighbour.so"
if [[ ! -f "$plugin_file" ]]; then
  echo "out_of_tree_test: the example build did not produce $plugin_file" >&2
  exit 1
fi

# 3. The installed program finds the plugin through --plugin-path.
cd "$work"
run_logged describe \
  "$prefix/bin/genmem" plugins --describe nearest_neighbour --plugin-path "$example_build"
if grep -qF "file: $plugin_file" "$work/describe.log"; then
  echo "ok: genmem plugins loads $plugin_file"
else
  cat "$work/describe.log" >&2
  fail "genmem plugins --describe did not load the example build's plugin"
fi

# 4. Run the example scenario. Replay: every recalled state is a stored pattern, reached in one
# step, so its distance to the nearest stored pattern is exactly 0. Evaluate: the cues are exact
# copies of the first 10 stored images (noise_fraction = 0), which are distinct scenes, so all 10
# recalls reach their own pattern.
run_logged run \
  "$prefix/bin/genmem" run "$scenario" --plugin-path "$example_build" --output "$work/run"
if [[ ! -f "$work/run/summary.json" ]]; then
  cat "$work/run.log" >&2
  echo "out_of_tree_test: the run wrote no summary.json" >&2
  exit 1
fi
expect_value stored_patterns 50
expect_value cues 100
expect_value mean_distance_to_nearest_memory 0
expect_value mean_steps 1
expect_value converged_fraction 1
expect_value hippocampal_recall_accuracy 1
distinct=$(json_value "$work/run/summary.json" distinct_memories)
if [[ "$distinct" =~ ^[0-9]+$ ]] && ((distinct >= 1 && distinct <= 50)); then
  echo "ok: distinct_memories = $distinct, within [1, 50]"
else
  fail "summary.json 'distinct_memories' is '$distinct', expected an integer in [1, 50]"
fi

if ((failures > 0)); then
  echo "summary.json:" >&2
  cat "$work/run/summary.json" >&2
  echo "out_of_tree_test: $failures check(s) failed" >&2
  exit 1
fi
echo "out_of_tree_test: all checks passed"
