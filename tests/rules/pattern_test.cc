// Conformance: pattern x event -> match, one named case per behaviour, taken
// from AWS's EventBridge documentation ("Event patterns", "Comparison
// operators", "Matching null values and empty strings", "Arrays") plus edge
// cases. A case's name says which behaviour it pins down.
#include <gtest/gtest.h>

#include "rules/pattern.h"
#include "rules/rule_set.h"

namespace bucketd::rules {
namespace {

struct Case {
  const char* name;
  const char* pattern;
  const char* event;
  bool match;
};

// The S3 "Object Created" event the seed pipeline reacts to.
constexpr char kS3Event[] = R"({
  "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
  "source": "aws.s3", "account": "123456789012", "time": "2021-11-12T00:00:00Z",
  "region": "ca-central-1", "resources": ["arn:aws:s3:::example-bucket"],
  "detail": {"version": "0", "bucket": {"name": "creditsafedata"},
             "object": {"key": "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json", "size": 5,
                        "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00617F08299329D189"},
             "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
             "source-ip-address": "10.0.138.15", "reason": "PutObject"}})";

const Case kCases[] = {
    // Exact matching and AND/OR structure.
    {"ExactStringMatches", R"({"source":["aws.s3"]})", kS3Event, true},
    {"ExactStringIsCaseSensitive", R"({"source":["AWS.S3"]})", kS3Event, false},
    {"ValuesInAListAreOred", R"({"detail-type":["Object Deleted","Object Created"]})", kS3Event, true},
    {"FieldsAreAnded", R"({"source":["aws.s3"],"detail-type":["Object Deleted"]})", kS3Event, false},
    {"NestedObjectsMatchNestedFields", R"({"detail":{"bucket":{"name":["creditsafedata"]}}})", kS3Event, true},
    {"MissingFieldDoesNotMatch", R"({"detail":{"nope":["x"]}})", kS3Event, false},
    {"PatternFieldOnAnObjectDoesNotMatchALeafList", R"({"detail":{"bucket":["creditsafedata"]}})", kS3Event, false},
    {"ExtraEventFieldsAreIgnored", R"({"account":["123456789012"]})", kS3Event, true},
    // Numbers compare by value (TestEventPattern treats 300, 300.0, 3.0e2 alike).
    {"NumberMatchesByValueInteger", R"({"n":[300]})", R"({"n":300.0})", true},
    {"NumberMatchesByValueExponent", R"({"n":[3.0e2]})", R"({"n":300})", true},
    {"NumberDoesNotMatchItsString", R"({"n":[300]})", R"({"n":"300"})", false},
    {"StringDoesNotMatchANumber", R"({"n":["300"]})", R"({"n":300})", false},
    {"BooleanMatches", R"({"b":[true]})", R"({"b":true})", true},
    {"BooleanFalseIsNotMissing", R"({"b":[false]})", R"({})", false},
    // Null values and empty strings (AWS: "Matching events on null values and empty strings").
    {"NullMatchesNullValue", R"({"detail":{"responseElements":[null]}})", R"({"detail":{"responseElements":null}})", true},
    {"NullDoesNotMatchMissingField", R"({"detail":{"responseElements":[null]}})", R"({"detail":{}})", false},
    {"EmptyStringMatchesEmptyString", R"({"detail":{"eventVersion":[""]}})", R"({"detail":{"eventVersion":""}})", true},
    {"EmptyStringDoesNotMatchNull", R"({"detail":{"eventVersion":[""]}})", R"({"detail":{"eventVersion":null}})", false},
    // Arrays (AWS: "Arrays in EventBridge event patterns").
    {"EventArrayMatchesWhenAnyElementMatches", R"({"resources":["arn:aws:s3:::example-bucket"]})", kS3Event, true},
    {"EventArrayOfObjectsFlattens", R"({"items":{"id":[2]}})", R"({"items":[{"id":1},{"id":2}]})", true},
    {"EmptyEventArrayIsLikeMissing", R"({"r":[{"exists":true}]})", R"({"r":[]})", false},
    // prefix / suffix / equals-ignore-case / wildcard.
    {"PrefixMatchesKeyPrefix", R"({"detail":{"object":{"key":[{"prefix":"LOGS_FTP_EXECUTION/"}]}}})", kS3Event, true},
    {"PrefixDoesNotMatchOtherPrefix", R"({"detail":{"object":{"key":[{"prefix":"ALGORITHM/"}]}}})", kS3Event, false},
    {"PrefixEqualsIgnoreCase", R"({"source":[{"prefix":{"equals-ignore-case":"AWS."}}]})", kS3Event, true},
    {"PrefixIgnoresNumbers", R"({"n":[{"prefix":"3"}]})", R"({"n":300})", false},
    {"SuffixMatches", R"({"detail":{"object":{"key":[{"suffix":".json"}]}}})", kS3Event, true},
    {"SuffixEqualsIgnoreCase", R"({"f":[{"suffix":{"equals-ignore-case":".PNG"}}]})", R"({"f":"a.png"})", true},
    {"EqualsIgnoreCaseMatches", R"({"name":[{"equals-ignore-case":"alice"}]})", R"({"name":"ALICE"})", true},
    {"WildcardMatchesAcrossSlashes", R"({"k":[{"wildcard":"dir/*.png"}]})", R"({"k":"dir/a/b.png"})", true},
    {"WildcardWholeValue", R"({"k":[{"wildcard":"dir/*.png"}]})", R"({"k":"dir/a/b.png.bak"})", false},
    {"WildcardEscapedStarIsLiteral", R"({"k":[{"wildcard":"a\\*b"}]})", R"({"k":"a*b"})", true},
    {"WildcardEscapedStarIsNotAWildcard", R"({"k":[{"wildcard":"a\\*b"}]})", R"({"k":"axb"})", false},
    // anything-but.
    {"AnythingButStringMatchesOthers", R"({"state":[{"anything-but":"initializing"}]})", R"({"state":"running"})", true},
    {"AnythingButStringRejectsIt", R"({"state":[{"anything-but":"initializing"}]})", R"({"state":"initializing"})", false},
    {"AnythingButList", R"({"state":[{"anything-but":["stopped","overloaded"]}]})", R"({"state":"stopped"})", false},
    {"AnythingButNumbers", R"({"x":[{"anything-but":[100,200]}]})", R"({"x":150})", true},
    {"AnythingButDoesNotMatchMissingField", R"({"state":[{"anything-but":"initializing"}]})", R"({})", false},
    {"AnythingButPrefix", R"({"Region":[{"anything-but":{"prefix":"us-"}}]})", R"({"Region":"eu-west-2"})", true},
    {"AnythingButPrefixRejects", R"({"Region":[{"anything-but":{"prefix":"us-"}}]})", R"({"Region":"us-east-1"})", false},
    {"AnythingButSuffix", R"({"FileName":[{"anything-but":{"suffix":".png"}}]})", R"({"FileName":"a.txt"})", true},
    {"AnythingButIgnoreCase", R"({"state":[{"anything-but":{"equals-ignore-case":["initializing"]}}]})", R"({"state":"INITIALIZING"})", false},
    {"AnythingButWildcard", R"({"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]})", R"({"FilePath":"/usr/lib/x"})", false},
    {"AnythingButWithArrayEventMatchesIfAnyElementDoes", R"({"s":[{"anything-but":"a"}]})", R"({"s":["a","b"]})", true},
    // Issue 13: anything-but where AWS-verified cases disagreed. It matches
    // any value that is there and is none of the excluded ones.
    {"AnythingButMatchesANullValue", R"({"state":[{"anything-but":"initializing"}]})", R"({"state":null})", true},
    {"AnythingButListMatchesANullValue", R"({"state":[{"anything-but":["a","b"]}]})", R"({"state":null})", true},
    {"AnythingButNumbersMatchAString", R"({"x":[{"anything-but":[1,2]}]})", R"({"x":"1"})", true},
    {"AnythingButNumberRejectsTheSameNumberWrittenOtherwise", R"({"x":[{"anything-but":100}]})", R"({"x":1.0e2})", false},
    {"AnythingButPrefixMatchesANumber", R"({"state":[{"anything-but":{"prefix":"init"}}]})", R"({"state":12})", true},
    {"AnythingButPrefixMatchesANull", R"({"state":[{"anything-but":{"prefix":"init"}}]})", R"({"state":null})", true},
    {"AnythingButSuffixMatchesANull", R"({"f":[{"anything-but":{"suffix":".png"}}]})", R"({"f":null})", true},
    {"AnythingButWildcardMatchesANumber", R"({"f":[{"anything-but":{"wildcard":"*/dir/*"}}]})", R"({"f":123})", true},
    {"AnythingButIgnoreCaseMatchesANull", R"({"s":[{"anything-but":{"equals-ignore-case":"x"}}]})", R"({"s":null})", true},
    {"AnythingButPrefixListRejectsAnyOfThem", R"({"state":[{"anything-but":{"prefix":["init","run"]}}]})", R"({"state":"running"})", false},
    {"AnythingButPrefixListPassesTheRest", R"({"state":[{"anything-but":{"prefix":["init","run"]}}]})", R"({"state":"post-init"})", true},
    {"AnythingButPrefixListMatchesANumber", R"({"state":[{"anything-but":{"prefix":["init","test"]}}]})", R"({"state":12})", true},
    {"AnythingButPrefixListMissingFieldMatchesNothing", R"({"state":[{"anything-but":{"prefix":["init"]}}]})", R"({})", false},
    {"AnythingButSuffixListRejectsAnyOfThem", R"({"f":[{"anything-but":{"suffix":[".png",".jpg"]}}]})", R"({"f":"a.jpg"})", false},
    {"AnythingButSuffixListPassesTheRest", R"({"f":[{"anything-but":{"suffix":[".png",".jpg"]}}]})", R"({"f":"a.txt"})", true},
    {"AnythingButWildcardListRejectsAnyOfThem", R"({"f":[{"anything-but":{"wildcard":["*/lib/*","*.tmp"]}}]})", R"({"f":"x.tmp"})", false},
    {"AnythingButWildcardSingleValue", R"({"f":[{"anything-but":{"wildcard":"*/lib/*"}}]})", R"({"f":"/usr/bin/x"})", true},
    {"ManyWildcardsBeforeDistinctCharactersAreFine", R"({"f":[{"wildcard":"a*b*c*d*e*f*g"}]})", R"({"f":"a1b2c3d4e5f6g"})", true},
    // equals-ignore-case across UTF-8 lengths (Unicode simple case mapping).
    {"IgnoreCaseCapitalSharpS", R"({"n":[{"equals-ignore-case":"STRAẞE"}]})", R"({"n":"straße"})", true},
    {"IgnoreCaseKelvinSign", R"({"n":[{"equals-ignore-case":"5 K"}]})", R"({"n":"5 k"})", true},
    {"IgnoreCaseAccentedCapitals", R"({"n":[{"equals-ignore-case":"ÉCOLE"}]})", R"({"n":"école"})", true},
    {"IgnoreCaseGreekSigma", R"({"n":[{"equals-ignore-case":"ΣΟΦΙΑ"}]})", R"({"n":"σοφια"})", true},
    {"IgnoreCaseStillDistinguishesLetters", R"({"n":[{"equals-ignore-case":"ÉCOLE"}]})", R"({"n":"ecole"})", false},
    {"PrefixIgnoreCaseMultibyte", R"({"n":[{"prefix":{"equals-ignore-case":"ÜBER"}}]})", R"({"n":"übermorgen"})", true},
    {"AnythingButIgnoreCaseMultibyte", R"({"n":[{"anything-but":{"equals-ignore-case":"ÄRGER"}}]})", R"({"n":"ärger"})", false},
    // numeric.
    {"NumericRangeInside", R"({"c":[{"numeric":[">",0,"<=",5]}]})", R"({"c":5})", true},
    {"NumericRangeOutside", R"({"c":[{"numeric":[">",0,"<=",5]}]})", R"({"c":0})", false},
    {"NumericEquals", R"({"c":[{"numeric":["=",3.0e2]}]})", R"({"c":300})", true},
    {"NumericIgnoresStrings", R"({"c":[{"numeric":[">",0]}]})", R"({"c":"5"})", false},
    {"NumericObjectSize", R"({"detail":{"object":{"size":[{"numeric":[">=",1]}]}}})", kS3Event, true},
    // exists.
    {"ExistsTrue", R"({"detail":{"reason":[{"exists":true}]}})", kS3Event, true},
    {"ExistsFalseOnMissing", R"({"detail":{"deletion-type":[{"exists":false}]}})", kS3Event, true},
    {"ExistsFalseOnPresent", R"({"detail":{"reason":[{"exists":false}]}})", kS3Event, false},
    {"ExistsTrueOnNullValue", R"({"x":[{"exists":true}]})", R"({"x":null})", true},
    {"ExistsOnlyOnLeaves", R"({"detail":[{"exists":true}]})", kS3Event, false},
    // cidr.
    {"CidrV4Inside", R"({"detail":{"source-ip-address":[{"cidr":"10.0.0.0/16"}]}})", kS3Event, true},
    {"CidrV4Outside", R"({"detail":{"source-ip-address":[{"cidr":"10.1.0.0/16"}]}})", kS3Event, false},
    {"CidrV6", R"({"ip":[{"cidr":"2001:db8::/32"}]})", R"({"ip":"2001:db8::1"})", true},
    {"CidrNotAnAddress", R"({"ip":[{"cidr":"10.0.0.0/8"}]})", R"({"ip":"hello"})", false},
    // $or.
    {"OrEitherBranch", R"({"source":["aws.s3"],"$or":[{"detail-type":["Object Deleted"]},{"detail":{"reason":["PutObject"]}}]})", kS3Event, true},
    {"OrNoBranch", R"({"$or":[{"a":[1]},{"b":[2]}]})", R"({"a":2,"b":1})", false},
    {"OrNested", R"({"$or":[{"a":[1]},{"$or":[{"b":[2]},{"c":[3]}]}]})", R"({"c":3})", true},
    // Mixed alternatives in one list.
    {"ListMixesLiteralsAndOperators", R"({"k":["x",{"prefix":"LOGS"}]})", R"({"k":"LOGS/1"})", true},
};

class PatternConformance : public ::testing::TestWithParam<Case> {};

TEST_P(PatternConformance, Matches) {
  const Case& c = GetParam();
  auto p = ParsePattern(c.pattern, "pattern");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto e = FlatEvent::Parse(c.event, "event");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(Matches(*p, *e), c.match);
  // The same along the pattern's paths only, with either parser, and through
  // a rule set's index.
  FieldPaths paths = PathsOf(*p);
  auto lazy = FlatEvent::Parse(c.event, "event", &paths);
  auto lazy_slow = FlatEvent::ParseSlow(c.event, "event", &paths);
  ASSERT_TRUE(lazy.ok() && lazy_slow.ok());
  EXPECT_EQ(Matches(*p, *lazy), c.match);
  EXPECT_EQ(Matches(*p, *lazy_slow), c.match);
  Rule rule;
  rule.name = "r";
  rule.pattern = *p;
  RuleSet set({rule});
  EXPECT_EQ(set.Match(*FlatEvent::Parse(c.event, "event", &set.paths())).size(), c.match ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Aws, PatternConformance, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct BadCase {
  const char* name;
  const char* pattern;
  const char* where;     // JSON pointer or line/column in the message
  const char* expected;  // part of the message
};

const BadCase kBad[] = {
    {"SyntaxErrorHasLineAndColumn", "{\n \"a\": [1,\n}", "line 3, column 1", "invalid JSON"},
    {"LeafMustBeAnArray", R"({"source":"aws.s3"})", "/source", "expected an array"},
    {"EmptyArray", R"({"source":[]})", "/source", "empty arrays are not allowed"},
    {"UnknownOperator", R"({"k":[{"prefx":"a"}]})", "/k/0", "unknown operator \"prefx\""},
    {"PrefixNeedsString", R"({"k":[{"prefix":5}]})", "/k/0/prefix", "takes a string"},
    {"NumericBadOperator", R"({"k":[{"numeric":["!=",1]}]})", "/k/0/numeric", "unknown operator '!='"},
    {"NumericEmptyRange", R"({"k":[{"numeric":[">",5,"<",1]}]})", "/k/0/numeric", "range is empty"},
    {"ExistsNeedsBoolean", R"({"k":[{"exists":"yes"}]})", "/k/0/exists", "true or false"},
    {"CidrBad", R"({"k":[{"cidr":"10.0.0.0/33"}]})", "/k/0/cidr", "prefix length"},
    {"AnythingButNull", R"({"k":[{"anything-but":[null]}]})", "/k/0/anything-but/0", "strings or numbers"},
    {"AnythingButUnknownOperator", R"({"k":[{"anything-but":{"numeric":[">",1]}}]})", "/k/0/anything-but/numeric", "supports prefix"},
    {"ConsecutiveWildcards", R"({"k":[{"wildcard":"a**b"}]})", "/k/0/wildcard", "consecutive wildcard"},
    {"OrNeedsTwo", R"({"$or":[{"a":[1]}]})", "/$or", "at least two"},
    {"NestedArray", R"({"k":[[1]]})", "/k/0", "nested arrays"},
    {"PatternMustBeObject", R"([1])", "/", "JSON object"},
    {"EmptyPattern", R"({})", "/", "empty object"},
    {"NumberOutOfRangeIsAnErrorNotACrash", R"({"a":[2E6666]})", "rules.d/r.json", "invalid JSON"},  // found by the fuzzer
    // Issue 13: patterns AWS refuses.
    {"AnythingButEmptyPrefix", R"({"k":[{"anything-but":{"prefix":""}}]})", "/k/0/anything-but/prefix", "non-empty string"},
    {"AnythingButEmptySuffix", R"({"k":[{"anything-but":{"suffix":""}}]})", "/k/0/anything-but/suffix", "non-empty string"},
    {"AnythingButEmptyPrefixInAList", R"({"k":[{"anything-but":{"prefix":["a",""]}}]})", "/k/0/anything-but/prefix/1", "non-empty string"},
    {"AnythingButPrefixListOfNumbers", R"({"k":[{"anything-but":{"prefix":[123,"test"]}}]})", "/k/0/anything-but/prefix/0", "takes a string"},
    {"AnythingButPrefixIgnoreCase", R"({"k":[{"anything-but":{"prefix":{"equals-ignore-case":"a"}}}]})", "/k/0/anything-but/prefix", "plain string"},
    {"AnythingButEmptyPrefixList", R"({"k":[{"anything-but":{"prefix":[]}}]})", "/k/0/anything-but/prefix", "must not be empty"},
    {"ComplexWildcard", R"({"arn":[{"wildcard":"*:*:*:*:*:event-bus/*"}]})", "/arn/0/wildcard", "Rule is too complex"},
    {"ConsecutiveWildcardsInsideAnythingBut", R"({"k":[{"anything-but":{"wildcard":"a**"}}]})", "/k/0/anything-but/wildcard", "consecutive wildcard"},
    {"TwoOperatorsInOneObject", R"({"k":[{"prefix":"a","suffix":"b"}]})", "/k/0", "exactly one operator"},
};

class PatternValidation : public ::testing::TestWithParam<BadCase> {};

TEST_P(PatternValidation, RejectsWithFilePositionAndExpectation) {
  const BadCase& c = GetParam();
  auto p = ParsePattern(c.pattern, "rules.d/r.json");
  ASSERT_FALSE(p.ok());
  const std::string& m = p.status().message();
  EXPECT_EQ(m.rfind("rules.d/r.json: ", 0), 0u) << m;
  EXPECT_NE(m.find(c.where), std::string::npos) << m;
  EXPECT_NE(m.find(c.expected), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(Aws, PatternValidation, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FlatEventTest, InvalidEventNamesPosition) {
  auto e = FlatEvent::Parse("{\"a\": tru}", "--event");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("--event: line 1, column"), std::string::npos);
  EXPECT_FALSE(FlatEvent::Parse("[1]", "--event").ok());
}

}  // namespace
}  // namespace bucketd::rules
