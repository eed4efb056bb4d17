#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs them from
# their seed corpora for SECONDS in all (default 30; half for the pattern
# target, a quarter each for the configuration loaders and aws-chunked):
#   pattern_fuzz  the pattern parser, matcher and rule index (tests/fuzz/corpus)
#   config_fuzz   rule files, S3 notification configurations, function files
#                 (tests/fuzz/config_corpus)
#   chunked_fuzz  the S3 endpoint's aws-chunked and trailer decoder
#                 (tests/fuzz/chunked_corpus)
# Exit non-zero on a crash, a sanitizer report or an index/matcher
# disagreement.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
out=build-fuzz
mkdir -p "$out/corpus" "$out/config_corpus" "$out/chunked_corpus"
cp tests/fuzz/corpus/* "$out/corpus/"
cp tests/fuzz/config_corpus/* "$out/config_corpus/"
cp tests/fuzz/chunked_corpus/* "$out/chunked_corpus/"
flags=(-std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -I.)
# Every source of the modules a target reaches (rules/, common/, the event
# records; the function loader and the key rules it uses), so a new file
# there needs no change here. Compiled once, two at a time, for both targets.
sources=(rules/*.cc common/*.cc events/records.cc events/s3_event_message.cc runner/function.cc store/key_rules.cc sigv4/sigv4.cc
  api/aws_chunked.cc)
mkdir -p "$out/obj"
printf '%s\n' "${sources[@]}" tests/fuzz/pattern_fuzz.cc tests/fuzz/config_fuzz.cc tests/fuzz/chunked_fuzz.cc |
  xargs -P 2 -I{} sh -c 'o="$1/obj/$(echo "$2" | tr / _).o"; src=$2; shift 2; clang++ "$@" -c "$src" -o "$o"' \
    _ "$out" {} "${flags[@]}" -fsanitize=fuzzer-no-link
objs() { for f in "${sources[@]}"; do echo "$out/obj/$(echo "$f" | tr / _).o"; done; }
link=(-fsanitize=fuzzer,address,undefined -lcrypto -lsimdjson -lsqlite3)
clang++ "$out/obj/tests_fuzz_pattern_fuzz.cc.o" $(objs) "${link[@]}" -o "$out/pattern_fuzz"
clang++ "$out/obj/tests_fuzz_config_fuzz.cc.o" $(objs) "${link[@]}" -o "$out/config_fuzz"
clang++ "$out/obj/tests_fuzz_chunked_fuzz.cc.o" $(objs) "${link[@]}" -o "$out/chunked_fuzz"
"$out/pattern_fuzz" -max_total_time="$((seconds / 2))" -max_len=4096 -print_final_stats=1 "$out/corpus" 2>&1 |
  tail -n 12
"$out/config_fuzz" -max_total_time="$((seconds / 4))" -max_len=8192 -print_final_stats=1 \
  "$out/config_corpus" 2>&1 | tail -n 12
"$out/chunked_fuzz" -max_total_time="$((seconds - seconds / 2 - seconds / 4))" -max_len=8192 -print_final_stats=1 \
  "$out/chunked_corpus" 2>&1 | tail -n 12
