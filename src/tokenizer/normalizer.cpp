#include "tokenizer/normalizer.h"

#include "tokenizer/unicode.h"

namespace tandem {

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content) {
  std::string out;
  // At most one replacement per pattern's length: reserving for that never reallocates.
  const size_t growth = content.size() > pattern.size() ? content.size() - pattern.size() : 0;
  out.reserve(text.size() + text.size() / pattern.size() * growth);
  size_t start = 0;
  for (size_t hit; (hit = text.find(pattern, start)) != std::string_view::npos; start = hit + pattern.size()) {
    out.append(text.substr(start, hit - start));
    out.append(content);
  }
  out.append(text.substr(start));
  return out;
}

std::string normalize(const std::vector<NormalizerStep>& steps, std::string_view text) {
  // Each step reads the previous one's result; the first reads `text` itself (no copy up front: this runs once per
  // stretch of text between added tokens, which is every line for Gemma, whose "\n" is an added token).
  std::string s;
  std::string_view in = text;
  for (const auto& step : steps) {
    switch (step.kind) {
      case NormalizerStep::Kind::kNfc:
        s = nfc(in);
        break;
      case NormalizerStep::Kind::kPrepend:
        s = in.empty() ? std::string() : step.text + std::string(in);
        break;
      case NormalizerStep::Kind::kReplace:
        s = replace_all(in, step.text, step.content);
        break;
    }
    in = s;
  }
  return steps.empty() ? std::string(text) : s;
}

}  // namespace tandem
