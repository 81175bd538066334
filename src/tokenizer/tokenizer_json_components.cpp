#include "tokenizer/tokenizer_json_components.h"

#include <algorithm>

#include "core/check.h"
#include "io/json_file.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

using nlohmann::json;

// Checks that `component` is an object with a string "type" and only `known` keys; returns the type. `where`
// names it in errors ("normalizer", "decoder step 2", ...).
std::string component_type(const json& component, const std::string& where, const std::string& source) {
  TANDEM_CHECK(component.is_object(), source, ": ", where, " must be an object, got ", json_excerpt(component));
  return json_get<std::string>(component, "type", source + ": " + where);
}

void only_keys(const json& component, const std::string& what, const std::string& source,
               std::initializer_list<const char*> known) {
  for (auto it = component.begin(); it != component.end(); ++it) {
    const std::string& key = it.key();  // not a structured binding: clang cannot capture those in the lambda
    TANDEM_CHECK(key == "type" || std::any_of(known.begin(), known.end(), [&](const char* k) { return key == k; }),
                 source, ": ", what, " has key '", key, "', which is not supported");
  }
}

// A literal pattern {"String": "..."}; a Regex pattern is an error naming `what`.
std::string string_pattern(const json& component, const std::string& what, const std::string& source) {
  const json& pattern = component.at("pattern");
  TANDEM_CHECK(pattern.is_object() && pattern.size() == 1, source, ": ", what,
               " key 'pattern' must be {\"String\": ...}, got ", json_excerpt(pattern));
  TANDEM_CHECK(!pattern.contains("Regex"), source, ": ", what,
               " with a Regex pattern is not supported here (only {\"String\": ...}), got ", json_excerpt(pattern));
  const std::string s = json_get<std::string>(pattern, "String", source + ": " + what + " pattern");
  TANDEM_CHECK(!s.empty(), source, ": ", what, " has an empty pattern");
  return s;
}

// A string holding exactly one character (Metaspace's replacement, Strip's content).
std::string one_character(const json& component, const char* key, const std::string& what, const std::string& source) {
  const std::string s = json_get<std::string>(component, key, source + ": " + what);
  TANDEM_CHECK(utf8_decode(s).size() == 1 && utf8_encode(utf8_decode(s)) == s, source, ": ", what, " key '", key,
               "' must be one character, got ", json_excerpt(json(s)));
  return s;
}

// Metaspace's settings, shared by the pre-tokenizer and the decoder (HF: prepend_scheme defaults to "always";
// add_prefix_space false is the older spelling of "never").
void read_metaspace(const json& c, const std::string& what, const std::string& source, std::string& replacement,
                    PrependScheme& scheme, bool& split) {
  only_keys(c, what, source, {"replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"});
  replacement = one_character(c, "replacement", what, source);
  const std::string name = json_get_or<std::string>(c, "prepend_scheme", "always", source + ": " + what);
  TANDEM_CHECK(name == "first" || name == "always" || name == "never", source, ": ", what,
               " key 'prepend_scheme' must be first, always or never, got ", json_excerpt(json(name)));
  scheme = name == "first" ? PrependScheme::kFirst : name == "always" ? PrependScheme::kAlways : PrependScheme::kNever;
  if (!json_get_or<bool>(c, "add_prefix_space", true, source + ": " + what)) {
    TANDEM_CHECK(scheme == PrependScheme::kNever || !c.contains("prepend_scheme"), source, ": ", what,
                 " key 'add_prefix_space' false contradicts prepend_scheme ", json_excerpt(json(name)));
    scheme = PrependScheme::kNever;
  }
  split = json_get_or<bool>(c, "split", true, source + ": " + what);
}

void add_normalizers(const json& n, const std::string& where, const std::string& source,
                     std::vector<NormalizerStep>& steps) {
  if (n.is_null()) return;
  const std::string type = component_type(n, where, source);
  const std::string what = where + " " + type;
  if (type == "Sequence") {
    only_keys(n, what, source, {"normalizers"});
    const json& list = n.at("normalizers");
    TANDEM_CHECK(list.is_array(), source, ": ", what, " key 'normalizers' must be an array");
    for (size_t k = 0; k < list.size(); ++k)
      add_normalizers(list[k], where + " step " + std::to_string(k), source, steps);
  } else if (type == "NFC") {
    only_keys(n, what, source, {});
    steps.push_back({NormalizerStep::Kind::kNfc, "", ""});
  } else if (type == "Prepend") {
    only_keys(n, what, source, {"prepend"});
    steps.push_back({NormalizerStep::Kind::kPrepend, json_get<std::string>(n, "prepend", source + ": " + what), ""});
  } else if (type == "Replace") {
    only_keys(n, what, source, {"pattern", "content"});
    steps.push_back({NormalizerStep::Kind::kReplace, string_pattern(n, what, source),
                     json_get<std::string>(n, "content", source + ": " + what)});
  } else {
    fail(source, ": ", where, " '", type, "' is not supported (NFC, Prepend, Replace, Sequence)");
  }
}

void add_pre_tokenizers(const json& p, const std::string& where, const std::string& source,
                        std::vector<SpPreTokenizerStep>& steps) {
  if (p.is_null()) return;
  const std::string type = component_type(p, where, source);
  const std::string what = where + " " + type;
  if (type == "Sequence") {
    only_keys(p, what, source, {"pretokenizers"});
    const json& list = p.at("pretokenizers");
    TANDEM_CHECK(list.is_array(), source, ": ", what, " key 'pretokenizers' must be an array");
    for (size_t k = 0; k < list.size(); ++k)
      add_pre_tokenizers(list[k], where + " step " + std::to_string(k), source, steps);
  } else if (type == "Metaspace") {
    SpPreTokenizerStep step{SpPreTokenizerStep::Kind::kMetaspace, ""};
    read_metaspace(p, what, source, step.text, step.prepend, step.split);
    steps.push_back(step);
  } else if (type == "Split") {
    only_keys(p, what, source, {"pattern", "behavior", "invert"});
    SpPreTokenizerStep step{SpPreTokenizerStep::Kind::kSplit, string_pattern(p, what, source)};
    const std::string behavior = json_get<std::string>(p, "behavior", source + ": " + what);
    TANDEM_CHECK(behavior == "MergedWithPrevious" || behavior == "MergedWithNext", source, ": ", what,
                 " key 'behavior' ", json_excerpt(json(behavior)),
                 " is not supported with a string pattern (MergedWithPrevious, MergedWithNext)");
    step.behavior = behavior == "MergedWithNext" ? SplitBehavior::kMergedWithNext : SplitBehavior::kMergedWithPrevious;
    TANDEM_CHECK(!json_get_or<bool>(p, "invert", false, source + ": " + what), source, ": ", what,
                 " key 'invert' true is not supported");
    steps.push_back(step);
  } else {
    fail(source, ": ", where, " '", type, "' is not supported with a SentencePiece-style model (Metaspace, Split ",
         "with a string pattern, Sequence, or null)");
  }
}

void add_decoders(const json& d, const std::string& where, const std::string& source,
                  std::vector<DecoderStep>& steps) {
  const std::string type = component_type(d, where, source);
  const std::string what = where + " " + type;
  using Kind = DecoderStep::Kind;
  if (type == "Sequence") {
    only_keys(d, what, source, {"decoders"});
    const json& list = d.at("decoders");
    TANDEM_CHECK(list.is_array(), source, ": ", what, " key 'decoders' must be an array");
    for (size_t k = 0; k < list.size(); ++k) add_decoders(list[k], where + " step " + std::to_string(k), source, steps);
  } else if (type == "Replace") {
    only_keys(d, what, source, {"pattern", "content"});
    steps.push_back({Kind::kReplace, string_pattern(d, what, source),
                     json_get<std::string>(d, "content", source + ": " + what)});
  } else if (type == "ByteFallback" || type == "Fuse") {
    only_keys(d, what, source, {});
    steps.push_back({type == "Fuse" ? Kind::kFuse : Kind::kByteFallback, "", ""});
  } else if (type == "Strip") {
    only_keys(d, what, source, {"content", "start", "stop"});
    DecoderStep step{Kind::kStrip, one_character(d, "content", what, source), ""};
    step.start = json_get<uint32_t>(d, "start", source + ": " + what);
    step.stop = json_get<uint32_t>(d, "stop", source + ": " + what);
    steps.push_back(step);
  } else if (type == "Metaspace") {
    DecoderStep step{Kind::kMetaspace, "", ""};
    bool split = true;  // decoding does not depend on it
    read_metaspace(d, what, source, step.text, step.prepend, split);
    steps.push_back(step);
  } else if (type == "ByteLevel") {
    // add_prefix_space, trim_offsets and use_regex change offsets and pre-tokenizing, not decoding.
    only_keys(d, what, source, {"add_prefix_space", "trim_offsets", "use_regex"});
    steps.push_back({Kind::kByteLevel, "", ""});
  } else {
    fail(source, ": ", where, " '", type,
         "' is not supported (Replace, ByteFallback, Fuse, Strip, Metaspace, ByteLevel, Sequence)");
  }
}

}  // namespace

std::vector<NormalizerStep> read_normalizers(const json& normalizer, const std::string& source) {
  std::vector<NormalizerStep> steps;
  add_normalizers(normalizer, "normalizer", source, steps);
  return steps;
}

std::vector<SpPreTokenizerStep> read_sp_pre_tokenizers(const json& pre, const std::string& source) {
  std::vector<SpPreTokenizerStep> steps;
  add_pre_tokenizers(pre, "pre_tokenizer", source, steps);
  return steps;
}

std::vector<DecoderStep> read_decoders(const json& decoder, const std::string& source) {
  std::vector<DecoderStep> steps;
  if (!decoder.is_null()) add_decoders(decoder, "decoder", source, steps);
  return steps;
}

bool has_byte_level_step(const json& pre) {
  if (!pre.is_object()) return false;
  if (pre.value("type", json()) == "ByteLevel") return true;
  const auto list = pre.find("pretokenizers");
  return pre.value("type", json()) == "Sequence" && list != pre.end() && list->is_array() &&
         std::any_of(list->begin(), list->end(), [](const json& p) { return has_byte_level_step(p); });
}

}  // namespace tandem
