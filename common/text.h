// Text that came from outside (object keys, file names) on its way to a
// terminal or a log line.
#ifndef BUCKETD_COMMON_TEXT_H_
#define BUCKETD_COMMON_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace bucketd {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is invalid
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i);

// `s` lower-cased code point by code point with Unicode's simple case
// mapping (as Java's Character.toLowerCase, which EventBridge's
// equals-ignore-case follows): "ẞ" -> "ß", "K" (Kelvin) -> "k", even where
// the UTF-8 length changes. Bytes that are not UTF-8 are kept as they are.
std::string LowerUtf8(std::string_view s);

// `s` with nothing a terminal would act on: control characters become
// \n, \r, \t, \e or \xNN, bytes that are not UTF-8 become \xNN, a backslash
// becomes \\. Everything else (UTF-8 included) is kept, so a plain name
// prints unchanged and a crafted one cannot forge a line or move the
// cursor.
std::string PrintableText(std::string_view s);

}  // namespace bucketd

#endif  // BUCKETD_COMMON_TEXT_H_
