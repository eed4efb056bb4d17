#!/usr/bin/env bash
# Builds the libFuzzer target for the pattern parser, matcher and rule index
# with clang (ASan + UBSan) and runs it for SECONDS (default 30) from the
# seed corpus in tests/fuzz/corpus. Exit non-zero on a crash, a sanitizer
# report or an index/matcher disagreement.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
out=build-fuzz
mkdir -p "$out/corpus"
cp tests/fuzz/corpus/* "$out/corpus/"
# Every source of the modules the target reaches (rules/, common/, the event
# records), so a new file there needs no change here.
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
  tests/fuzz/pattern_fuzz.cc rules/*.cc common/*.cc events/records.cc \
  -lcrypto -lsimdjson -lsqlite3 -o "$out/pattern_fuzz"
"$out/pattern_fuzz" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$out/corpus" 2>&1 |
  tail -n 12
