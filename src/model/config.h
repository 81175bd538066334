// Model hyper-parameters, read from / written to a Hugging Face config.json.
// An architecture is data: sizes plus typed layer settings (as gemma.cpp's configs.h), which each family's reader
// (model/architectures.h) sets from its own config.json keys. The decoder reads only these settings, never the
// family's name.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "backends/activation.h"
#include "model/rope_table.h"

namespace tandem {

enum class NormKind {
  kRms,        // x * rstd * w (Llama)
  kRmsOffset,  // x * rstd * (1 + w) (Gemma: the weight is stored as an offset from 1)
  kLayerNorm,  // (x - mean) * rstd * w + b (GPT-NeoX)
};
enum class MlpKind {
  kGated,  // down(act(gate(x)) * up(x)): SwiGLU, GeGLU
  kPlain,  // down(act(up(x))): GPT-NeoX's dense_h_to_4h / dense_4h_to_h
};
enum class ResidualKind {
  kSequential,  // x += attn(norm1(x)); x += mlp(norm2(x))
  kParallel,    // GPT-NeoX use_parallel_residual: x += attn(norm1(x)) + mlp(norm2(x))
};
// How q, k and v are stored in the checkpoint. Computation is the same for all three: the fused layouts are kept as
// one tensor whose row blocks are the q, k and v weights (NeoX's per-head interleave is undone on load).
enum class QkvLayout {
  kSeparate,      // q_proj, k_proj, v_proj
  kFused,         // Phi-3 qkv_proj: rows [q; k; v]
  kFusedPerHead,  // GPT-NeoX query_key_value: rows per head [q_h; k_h; v_h]
};

const char* norm_kind_name(NormKind k);
const char* mlp_kind_name(MlpKind k);
const char* residual_kind_name(ResidualKind k);
const char* qkv_layout_name(QkvLayout k);

struct ModelConfig {
  std::string architecture = "LlamaForCausalLM";
  std::string model_type = "llama";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_attention_heads unless set
  int64_t max_position_embeddings = 2048;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;

  // Layer settings.
  NormKind norm = NormKind::kRms;
  double norm_eps = 1e-6;                 // rms_norm_eps / layer_norm_eps
  Activation activation = Activation::kSilu;
  MlpKind mlp = MlpKind::kGated;
  bool mlp_bias = false;                  // GPT-NeoX: dense_h_to_4h and dense_4h_to_h have biases
  bool fused_gate_up = false;             // Phi-3 gate_up_proj: rows [gate; up]
  ResidualKind residual = ResidualKind::kSequential;
  bool sandwich_norms = false;            // Gemma-2: the attention and MLP outputs are normalised too
  QkvLayout qkv_layout = QkvLayout::kSeparate;
  bool qkv_bias = false;                  // Qwen2 always; Llama's attention_bias; GPT-NeoX
  bool o_bias = false;                    // Llama's attention_bias also biases o_proj; GPT-NeoX's dense
  bool qk_norm = false;                   // Qwen3: RMSNorm over head_dim on q and k before RoPE
  double rotary_fraction = 1.0;          // of each head's dims RoPE rotates (rotary_pct, partial_rotary_factor)
  bool scale_embeddings = false;          // Gemma: embeddings times sqrt(hidden_size)
  double attention_scale = 0;             // scores = q.k * scale; 0: 1/sqrt(head_dim) (Gemma-2 query_pre_attn_scalar)
  double attn_logit_softcap = 0;          // Gemma-2: 0 is off
  double final_logit_softcap = 0;         // Gemma-2: 0 is off
  int64_t sliding_window = 0;             // 0: none
  bool sliding_window_alternates = false; // Gemma-2: only even layers slide

  // `source` names the file in error messages.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  static ModelConfig from_file(const std::string& path);
  nlohmann::json to_json() const;
  // Every value in its domain; sizes at most the limits below. Errors name `source`, the key, value and limit.
  void validate(const std::string& source = "config") const;
  int64_t num_parameters() const;
  // The layer settings in one line, "LayerNorm, gelu MLP with biases, parallel residual, ...", for summaries.
  std::string layer_summary() const;

  // The rotated dims of each head, as transformers computes them: int(head_dim * fraction).
  int64_t rotary_dims() const { return int64_t(double(head_dim) * rotary_fraction); }
  // The sliding window of layer l (0: full attention).
  int64_t layer_window(int64_t l) const { return sliding_window_alternates && l % 2 != 0 ? 0 : sliding_window; }

  // Upper bounds on sizes read from a file (released models stay well below them: Llama-3.1-405B has hidden 16384,
  // ffn 53248, 126 layers, vocab 128256).
  static constexpr int64_t kMaxVocab = (int64_t{1} << 31) - 1;
  static constexpr int64_t kMaxWidth = int64_t{1} << 20;  // hidden_size, intermediate_size
  static constexpr int64_t kMaxLayers = 1024;
  static constexpr int64_t kMaxHeads = 4096;
  static constexpr int64_t kMaxHeadDim = 4096;
  static constexpr int64_t kMaxPositions = int64_t{1} << 24;
  static const char* why_limit(const std::string& key);
};

}  // namespace tandem
