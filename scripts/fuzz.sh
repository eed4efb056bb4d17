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
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
  tests/fuzz/pattern_fuzz.cc rules/pattern.cc rules/rule_set.cc rules/rule_file.cc \
  rules/target_input.cc rules/schedule.cc rules/time_zone.cc rules/flat_event_simdjson.cc \
  events/records.cc common/status.cc common/md5.cc common/time_format.cc common/civil_time.cc \
  common/file_util.cc common/env_posix_linux.cc -lcrypto -lsimdjson -o "$out/pattern_fuzz"
"$out/pattern_fuzz" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$out/corpus" 2>&1 |
  tail -n 12
