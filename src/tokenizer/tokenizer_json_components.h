// The strict reading of tokenizer.json's normalizer, SentencePiece-style pre-tokenizer and decoder sections (for
// tokenizer_json.cpp): each component must be one this library runs, with keys it knows; an unknown component, an
// unknown key or a value it does not handle is an error naming the section, the component and the key.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/sentencepiece_pretokenizer.h"

namespace tandem {

// null: no steps.
std::vector<NormalizerStep> read_normalizers(const nlohmann::json& normalizer, const std::string& source);
std::vector<SpPreTokenizerStep> read_sp_pre_tokenizers(const nlohmann::json& pre, const std::string& source);
std::vector<DecoderStep> read_decoders(const nlohmann::json& decoder, const std::string& source);

// Whether a pre_tokenizer is, or holds, the ByteLevel step (the byte-level BPE families).
bool has_byte_level_step(const nlohmann::json& pre);

}  // namespace tandem
