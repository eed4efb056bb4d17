// libFuzzer target: the pattern parser, the matcher and the rule index.
// Input: "<pattern JSON>\0<event JSON>". Checks, besides "no crash and no
// sanitizer report", that the compiled index agrees with direct matching and
// that the simdjson event parser agrees with the nlohmann-json one, whole and
// along the pattern's paths.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rules/pattern.h"
#include "rules/rule_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t sep = in.find('\0');
  std::string_view pattern_text = in.substr(0, sep);
  std::string_view event_text = sep == std::string_view::npos ? "{}" : in.substr(sep + 1);
  auto event = bucketd::rules::FlatEvent::Parse(event_text, "fuzz-event");
  auto reference = bucketd::rules::FlatEvent::ParseSlow(event_text, "fuzz-event");
  if (event.ok() != reference.ok()) std::abort();
  if (event.ok() && !(*event == *reference)) std::abort();
  auto pattern = bucketd::rules::ParsePattern(pattern_text, "fuzz");
  if (!pattern.ok() || !event.ok()) return 0;
  bool direct = bucketd::rules::Matches(*pattern, *event);
  bucketd::rules::Rule rule;
  rule.name = "fuzz";
  rule.pattern = *pattern;
  bucketd::rules::RuleSet set({rule});
  bool indexed = !set.Match(*event).empty();
  if (direct != indexed) std::abort();
  auto lazy = bucketd::rules::FlatEvent::Parse(event_text, "fuzz-event", &set.paths());
  auto lazy_reference = bucketd::rules::FlatEvent::ParseSlow(event_text, "fuzz-event", &set.paths());
  if (!lazy.ok() || !lazy_reference.ok() || !(*lazy == *lazy_reference)) std::abort();
  if (set.Match(*lazy).empty() == direct || bucketd::rules::Matches(*pattern, *lazy) != direct) std::abort();
  return 0;
}
