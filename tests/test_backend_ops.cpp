// One table for every backend op (ggml's test-backend-ops): each case builds random inputs, runs the op's forward
// and backward through a Backend, and is checked two ways.
//  - Precision: every compiled backend at every storage dtype it supports against the f64 CPU result. Tolerance
//    per dtype, relative to the output's largest magnitude: f32 2e-5 (fp32 rounding through GEMMs and fast exp),
//    bf16 1.6e-2 (inputs and outputs rounded to bf16; compute in f32).
//  - Gradients: the f64 CPU backward against central finite differences of the forward (loss = sum(r * out)),
//    relative 1e-7 (tests/gradcheck.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/devices.h"
#include "core/rng.h"
#include "expect_error.h"
#include "gradcheck.h"
#include "model/rope_table.h"

namespace tandem {
namespace {

// An input: float values (normal * scale), or ints in [0, int_limit).
struct Input {
  std::string name;
  Shape shape;
  bool differentiable = true;
  double scale = 1.0;
  int32_t int_limit = 0;  // > 0: an i32 input
};

using Tensors = std::vector<Tensor>;
struct OpCase {
  std::string name;
  std::vector<Input> inputs;
  // Outputs of the op; created on `b` with the inputs' float dtype.
  std::function<Tensors(Backend& b, Tensors& in, DType dt)> forward;
  // Gradients of the differentiable inputs, in input order, given the outputs and dL/dout for each output.
  std::function<Tensors(Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt)> backward;
  std::vector<bool> differentiable_outputs = {};  // default: every output enters the loss
};

Tensor zeros_like(const Tensor& t, DType dt, Backend& b, const std::string& suffix = ".grad") {
  return Tensor(t.name + suffix, t.shape, dt, &b);
}
Tensor make(const std::string& name, Shape shape, DType dt, Backend& b) {
  return Tensor(name, std::move(shape), dt, &b);
}

std::vector<double> values(const Tensor& t) {
  if (t.dtype() == DType::kF64) return {t.data<double>(), t.data<double>() + t.numel()};
  const std::vector<float> v = t.to_floats();
  return {v.begin(), v.end()};
}

Tensors make_inputs(const OpCase& c, uint64_t seed) {
  Rng rng(seed);
  Tensors in;
  for (const Input& i : c.inputs) {
    if (i.int_limit > 0) {
      Tensor t(i.name, i.shape, DType::kI32);
      for (int64_t k = 0; k < t.numel(); ++k) t.data<int32_t>()[k] = int32_t(rng.below(uint64_t(i.int_limit)));
      in.push_back(std::move(t));
    } else {
      Tensor t(i.name, i.shape, DType::kF64);
      for (int64_t k = 0; k < t.numel(); ++k) t.data<double>()[k] = rng.normal() * i.scale;
      in.push_back(std::move(t));
    }
  }
  return in;
}

Tensors on(Backend& b, const Tensors& in, DType dt) {
  Tensors out;
  for (const Tensor& t : in) out.push_back(t.dtype() == DType::kI32 ? t.to(DType::kI32, &b) : t.to(dt, &b));
  return out;
}

Tensors random_douts(const Tensors& out, uint64_t seed) {
  Rng rng(seed);
  Tensors d;
  for (const Tensor& t : out) {
    Tensor g(t.name + ".dout", t.shape, DType::kF64);
    for (int64_t k = 0; k < g.numel(); ++k) g.data<double>()[k] = rng.normal();
    d.push_back(std::move(g));
  }
  return d;
}

// "mul/add_mul" -> "mul_add_mul": test and property names.
std::string identifier(std::string s) {
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

double relative_error(const std::vector<double>& got, const std::vector<double>& want) {
  double err = 0, scale = 1e-30;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return err / scale;
}

// Elementwise ops of two or three equal-shaped inputs.
std::vector<OpCase> elementwise_cases() {
  const Shape s{3, 17};
  std::vector<OpCase> cases;
  cases.push_back({"add", {{"a", s}, {"b", s}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("sum", in[0].shape, dt, b)};
                     b.add(out[0], in[0], in[1]);
                     return out;
                   },
                   [](Backend&, Tensors&, Tensors&, Tensors& dout, DType) { return Tensors{dout[0], dout[0]}; }});
  cases.push_back({"mul/add_mul", {{"a", s}, {"b", s}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("prod", in[0].shape, dt, b)};
                     b.mul(out[0], in[0], in[1]);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                     b.add_mul(g[0], dout[0], in[1]);
                     b.add_mul(g[1], dout[0], in[0]);
                     return g;
                   }});
  cases.push_back({"scale", {{"x", s}},
                   [](Backend& b, Tensors& in, DType) {
                     Tensors out{in[0]};
                     b.scale(out[0], -0.75);
                     return out;
                   },
                   [](Backend& b, Tensors&, Tensors&, Tensors& dout, DType) {
                     Tensors g{dout[0]};
                     b.scale(g[0], -0.75);
                     return g;
                   }});
  for (Activation act : {Activation::kSilu, Activation::kGelu, Activation::kGeluTanh}) {
    cases.push_back({std::string("glu_") + activation_name(act), {{"gate", s, true, 2.0}, {"up", s}},
                     [=](Backend& b, Tensors& in, DType dt) {
                       Tensors out{make("act", in[0].shape, dt, b)};
                       b.glu_forward(out[0], in[0], in[1], act);
                       return out;
                     },
                     [=](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                       Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                       b.glu_backward(g[0], g[1], dout[0], in[0], in[1], act);
                       return g;
                     }});
    cases.push_back({std::string("activation_") + activation_name(act), {{"x", s, true, 2.0}},
                     [=](Backend& b, Tensors& in, DType dt) {
                       Tensors out{make("act", in[0].shape, dt, b)};
                       b.activation_forward(out[0], in[0], act);
                       return out;
                     },
                     [=](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                       Tensors g{zeros_like(in[0], dt, b)};
                       b.activation_backward(g[0], dout[0], in[0], act);
                       return g;
                     }});
  }
  cases.push_back({"tanh_softcap", {{"logits", s, true, 4.0}},
                   [](Backend& b, Tensors& in, DType) {
                     Tensors out{in[0]};
                     b.tanh_softcap(out[0], 3.0);
                     return out;
                   },
                   nullptr});
  return cases;
}

std::vector<OpCase> layer_cases() {
  std::vector<OpCase> cases;
  const int64_t rows = 6, in_dim = 5, out_dim = 4, rank = 3;
  cases.push_back({"embedding", {{"ids", {rows}, false, 1, 4}, {"table", {4, 5}}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("emb", {in[0].numel(), 5}, dt, b)};
                     b.embedding_forward(out[0], in[0], in[1]);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[1], dt, b)};
                     b.embedding_backward(g[0], in[0], dout[0]);
                     return g;
                   }});
  for (double offset : {0.0, 1.0}) {  // Llama's w, Gemma's (1 + w)
    cases.push_back({offset == 0 ? "rmsnorm" : "rmsnorm+offset", {{"x", {rows, 8}}, {"weight", {8}}},
                     [=](Backend& b, Tensors& in, DType dt) {
                       Tensors out{make("y", in[0].shape, dt, b), make("rstd", {rows}, dt, b)};
                       b.rmsnorm_forward(out[0], out[1], in[0], in[1], rows, 1e-5, offset);
                       return out;
                     },
                     [=](Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt) {
                       Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                       b.rmsnorm_backward(g[0], &g[1], dout[0], in[0], in[1], out[1], rows, offset);
                       return g;
                     },
                     {true, false}});
  }
  cases.push_back({"layernorm+bias", {{"x", {rows, 8}}, {"weight", {8}}, {"bias", {8}}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("y", in[0].shape, dt, b), make("mean", {rows}, dt, b),
                                 make("rstd", {rows}, dt, b)};
                     b.layernorm_forward(out[0], out[1], out[2], in[0], in[1], &in[2], rows, 1e-5);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b), zeros_like(in[2], dt, b)};
                     b.layernorm_backward(g[0], &g[1], &g[2], dout[0], in[0], in[1], out[1], out[2], rows);
                     return g;
                   },
                   {true, false, false}});
  cases.push_back({"layernorm", {{"x", {rows, 8}, true, 3.0}, {"weight", {8}}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("y", in[0].shape, dt, b), make("mean", {rows}, dt, b),
                                 make("rstd", {rows}, dt, b)};
                     b.layernorm_forward(out[0], out[1], out[2], in[0], in[1], nullptr, rows, 1e-5);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                     b.layernorm_backward(g[0], &g[1], nullptr, dout[0], in[0], in[1], out[1], out[2], rows);
                     return g;
                   },
                   {true, false, false}});
  cases.push_back({"linear+bias", {{"x", {rows, in_dim}}, {"w", {out_dim, in_dim}}, {"bias", {out_dim}}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("y", {rows, out_dim}, dt, b)};
                     b.linear_forward(out[0], in[0], in[1], &in[2], rows);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b), zeros_like(in[2], dt, b)};
                     b.linear_backward(&g[0], &g[1], &g[2], dout[0], in[0], in[1], rows);
                     return g;
                   }});
  cases.push_back({"lora", {{"x", {rows, in_dim}}, {"a", {rank, in_dim}}, {"b", {out_dim, rank}}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("y", {rows, out_dim}, dt, b), make("h", {rows, rank}, dt, b)};
                     b.lora_forward(out[0], out[1], in[0], in[1], in[2], rows, 1.5);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b), zeros_like(in[2], dt, b)};
                     b.lora_backward(&g[0], g[1], g[2], dout[0], in[0], out[1], in[1], in[2], rows, 1.5);
                     return g;
                   },
                   {true, false}});
  return cases;
}

// RoPE with per-token positions, attention (GQA, padding, packed segments and a shared prefix), generation's
// cached attention, and the fused LM head.
std::vector<OpCase> sequence_cases() {
  std::vector<OpCase> cases;
  const int64_t B = 2, T = 7, H = 4, G = 2, D = 4;
  auto table = [](Backend& b, Tensor& cos, Tensor& sin) {
    const RopeTable t = rope_table(T, D, 10000.0, {});
    cos = make("cos", {T, D / 2}, DType::kF32, b), sin = make("sin", {T, D / 2}, DType::kF32, b);
    cos.assign(t.cos), sin.assign(t.sin);
  };
  cases.push_back({"rope", {{"x", {B, T, H, D}}, {"positions", {B * T}, false, 1, int32_t(T)}},
                   [=](Backend& b, Tensors& in, DType) {
                     Tensor cos, sin;
                     table(b, cos, sin);
                     Tensors out{in[0]};
                     b.rope(out[0], cos, sin, B, T, H, &in[1], false);
                     return out;
                   },
                   [=](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType) {
                     Tensor cos, sin;
                     table(b, cos, sin);
                     Tensors g{dout[0]};
                     b.rope(g[0], cos, sin, B, T, H, &in[1], true);
                     return g;
                   }});
  // Partial rotary: a table for 4 of the 8 dims of each head (GPT-NeoX rotary_pct 0.5).
  const int64_t Dp = 8;
  auto partial_table = [](Backend& b, Tensor& cos, Tensor& sin) {
    const RopeTable t = rope_table(T, 4, 10000.0, {});
    cos = make("cos", {T, 2}, DType::kF32, b), sin = make("sin", {T, 2}, DType::kF32, b);
    cos.assign(t.cos), sin.assign(t.sin);
  };
  cases.push_back({"rope_partial", {{"x", {B, T, H, Dp}}, {"positions", {B * T}, false, 1, int32_t(T)}},
                   [=](Backend& b, Tensors& in, DType) {
                     Tensor cos, sin;
                     partial_table(b, cos, sin);
                     Tensors out{in[0]};
                     b.rope(out[0], cos, sin, B, T, H, &in[1], false);
                     return out;
                   },
                   [=](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType) {
                     Tensor cos, sin;
                     partial_table(b, cos, sin);
                     Tensors g{dout[0]};
                     b.rope(g[0], cos, sin, B, T, H, &in[1], true);
                     return g;
                   }});
  const AttentionShape s{B, T, H, G, D};
  auto structure = [=](Backend& b, Tensor& lengths, Tensor& seg, Tensor& pre) {
    lengths = make("lengths", {B}, DType::kI32, b), seg = make("segment_start", {B * T}, DType::kI32, b);
    pre = make("prefix_end", {B * T}, DType::kI32, b);
    // Row 0: padded to 5 tokens, two packed segments [0,2) [2,5). Row 1: a prompt [0,3) shared by two answers
    // [3,5) and [5,7).
    lengths.assign({5, 7});
    seg.assign({0, 0, 2, 2, 2, 5, 5, 0, 0, 0, 3, 3, 5, 5});
    pre.assign({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3});
  };
  cases.push_back({"attention", {{"q", {B, T, H, D}}, {"k", {B, T, G, D}}, {"v", {B, T, G, D}}},
                   [=](Backend& b, Tensors& in, DType dt) {
                     Tensor len, seg, pre;
                     structure(b, len, seg, pre);
                     Tensors out{make("out", in[0].shape, dt, b), make("lse", {B * H * T}, dt, b)};
                     b.attention_forward(out[0], out[1], in[0], in[1], in[2], len, s, {&seg, &pre});
                     return out;
                   },
                   [=](Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt) {
                     Tensor len, seg, pre;
                     structure(b, len, seg, pre);
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b), zeros_like(in[2], dt, b)};
                     b.attention_backward(g[0], g[1], g[2], dout[0], out[0], out[1], in[0], in[1], in[2], len, s,
                                          {&seg, &pre});
                     return g;
                   },
                   {true, false}});
  // Gemma-2's scoring: a custom scale, a soft cap and a sliding window of 3 over the same packed structure.
  const AttentionShape scored{B, T, H, G, D, {0.4, 1.5, 3}};
  cases.push_back({"attention_scored",
                   {{"q", {B, T, H, D}, true, 2.0}, {"k", {B, T, G, D}, true, 2.0}, {"v", {B, T, G, D}}},
                   [=](Backend& b, Tensors& in, DType dt) {
                     Tensor len, seg, pre;
                     structure(b, len, seg, pre);
                     Tensors out{make("out", in[0].shape, dt, b), make("lse", {B * H * T}, dt, b)};
                     b.attention_forward(out[0], out[1], in[0], in[1], in[2], len, scored, {&seg, &pre});
                     return out;
                   },
                   [=](Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt) {
                     Tensor len, seg, pre;
                     structure(b, len, seg, pre);
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b), zeros_like(in[2], dt, b)};
                     b.attention_backward(g[0], g[1], g[2], dout[0], out[0], out[1], in[0], in[1], in[2], len, scored,
                                          {&seg, &pre});
                     return g;
                   },
                   {true, false}});
  for (const AttentionScoring& sc : {AttentionScoring{}, AttentionScoring{0.4, 1.5, 3}}) {
    cases.push_back({sc.window ? "attention_decode_scored" : "attention_decode",
                     {{"q", {3, H, D}}, {"k_cache", {T, G, D}}, {"v_cache", {T, G, D}}},
                     [=](Backend& b, Tensors& in, DType dt) {
                       Tensors out{make("out", in[0].shape, dt, b)};
                       b.attention_decode(out[0], in[0], in[1], in[2], /*start=*/4, /*n=*/3, H, G, sc);
                       return out;
                     },
                     nullptr});
  }
  const int64_t rows = 5, dim = 6, vocab = 11;
  cases.push_back({"token_logprobs",
                   {{"x", {rows, dim}}, {"w", {vocab, dim}}, {"rows", {7}, false, 1, int32_t(rows)},
                    {"targets", {7}, false, 1, int32_t(vocab)}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("logp", {7}, dt, b)};
                     b.token_logprobs(&out[0], nullptr, nullptr, nullptr, in[0], in[1], in[2], in[3], 2, 0.0);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                     Tensor logp = make("logp", {7}, dt, b);
                     b.token_logprobs(&logp, &g[0], &g[1], &dout[0], in[0], in[1], in[2], in[3], 2, 0.0);
                     return g;
                   }});
  cases.push_back({"token_logprobs_softcap",
                   {{"x", {rows, dim}}, {"w", {vocab, dim}}, {"rows", {7}, false, 1, int32_t(rows)},
                    {"targets", {7}, false, 1, int32_t(vocab)}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("logp", {7}, dt, b)};
                     b.token_logprobs(&out[0], nullptr, nullptr, nullptr, in[0], in[1], in[2], in[3], 2, 2.5);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                     Tensor logp = make("logp", {7}, dt, b);
                     b.token_logprobs(&logp, &g[0], &g[1], &dout[0], in[0], in[1], in[2], in[3], 2, 2.5);
                     return g;
                   }});
  return cases;
}

std::vector<OpCase> all_cases() {
  std::vector<OpCase> all = elementwise_cases();
  for (auto* more : {&layer_cases, &sequence_cases})
    for (auto& c : more()) all.push_back(std::move(c));
  return all;
}

// The CUDA backend joins when a GPU is usable; BackendOpsOnCuda.GpuAvailable below says when it did not.
std::vector<Backend*> compiled_backends() {
  std::vector<Backend*> b = {&cpu_backend()};
  if (cuda_usable()) b.push_back(&cuda_backend());
  return b;
}
constexpr DType kStorageTypes[] = {DType::kF32, DType::kBF16};
// bf16 rounds every input and output to 8 significant bits (relative 2^-8 = 3.9e-3 each); measured worst case over
// the table 7.3e-3.
double tolerance(DType dt) { return dt == DType::kF32 ? 2e-5 : 1.6e-2; }

class BackendOps : public ::testing::TestWithParam<int> {};

TEST_P(BackendOps, MatchesF64Reference) {
  const OpCase c = all_cases()[size_t(GetParam())];
  Backend& cpu = cpu_backend();
  Tensors ref_in = on(cpu, make_inputs(c, 7), DType::kF64);
  Tensors ref_out = c.forward(cpu, ref_in, DType::kF64);
  Tensors douts = random_douts(ref_out, 8);
  Tensors ref_grads = c.backward ? c.backward(cpu, ref_in, ref_out, douts, DType::kF64) : Tensors{};
  int checked = 0;
  for (Backend* b : compiled_backends())
    for (DType dt : kStorageTypes) {
      if (!b->supports(dt)) continue;  // reported below: a dtype a backend lacks is not silently passed
      Tensors in = on(*b, make_inputs(c, 7), dt);
      Tensors out = c.forward(*b, in, dt);
      for (size_t k = 0; k < out.size(); ++k)
        EXPECT_LE(relative_error(values(out[k]), values(ref_out[k])), tolerance(dt))
            << c.name << " " << b->name() << " " << dtype_str(dt) << " output " << out[k].name;
      if (c.backward) {
        Tensors d = on(*b, douts, dt);
        Tensors grads = c.backward(*b, in, out, d, dt);
        for (size_t k = 0; k < grads.size(); ++k)
          EXPECT_LE(relative_error(values(grads[k]), values(ref_grads[k])), tolerance(dt))
              << c.name << " " << b->name() << " " << dtype_str(dt) << " gradient " << grads[k].name;
      }
      ++checked;
    }
  EXPECT_EQ(checked, 2 * int(compiled_backends().size())) << c.name << ": a backend lacks a storage dtype";
}

// d(sum_k r_k . out_k)/d(input) by central differences in f64, against the backward op.
TEST_P(BackendOps, BackwardMatchesFiniteDifferences) {
  const OpCase c = all_cases()[size_t(GetParam())];
  if (!c.backward) GTEST_SKIP() << c.name << " has no backward (generation only)";
  Backend& cpu = cpu_backend();
  Tensors in = on(cpu, make_inputs(c, 11), DType::kF64);
  Tensors out = c.forward(cpu, in, DType::kF64);
  const Tensors douts = random_douts(out, 12);
  Tensors mutable_douts = douts;
  const Tensors grads = c.backward(cpu, in, out, mutable_douts, DType::kF64);
  auto loss = [&] {
    Tensors o = c.forward(cpu, in, DType::kF64);
    double l = 0;
    for (size_t k = 0; k < o.size(); ++k) {
      if (!c.differentiable_outputs.empty() && !c.differentiable_outputs[k]) continue;
      for (int64_t i = 0; i < o[k].numel(); ++i) l += o[k].data<double>()[i] * douts[k].data<double>()[i];
    }
    return l;
  };
  size_t g = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    if (!c.inputs[k].differentiable || c.inputs[k].int_limit > 0) continue;
    ASSERT_LT(g, grads.size()) << c.name;
    const Tensor& analytic = grads[g++];
    testing::expect_gradient(identifier(c.name + "_d_" + in[k].name), in[k].data<double>(), size_t(in[k].numel()),
                             analytic.data<double>(), loss);
  }
  EXPECT_EQ(g, grads.size()) << c.name << ": gradients and differentiable inputs disagree";
}

// Without a GPU the table above ran on the CPU backend alone: this test is skipped, saying why, so a CI log shows
// that the CUDA kernels were compiled but not checked.
TEST(BackendOpsOnCuda, GpuAvailable) {
  std::string why;
  if (!cuda_usable(&why)) GTEST_SKIP() << "the op table ran on the CPU backend only: " << why;
  EXPECT_EQ(compiled_backends().size(), 2u);
  EXPECT_NE(cuda_backend().name().find("cuda"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(AllOps, BackendOps, ::testing::Range(0, int(all_cases().size())),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return identifier(all_cases()[size_t(info.param)].name);
                         });

// The ops of issue 14's architectures against references written here from their definitions (Hugging Face /
// torch semantics), not from the kernels. Through the f64 backend only rounding separates the two: tolerance 1e-12
// relative to max(1, |reference|) unless a case says otherwise; f32 runs get 2e-5 as above.

Tensor f64_tensor(const std::string& name, Shape shape, const std::vector<double>& v) {
  Tensor t(name, std::move(shape), DType::kF64, &cpu_backend());
  EXPECT_EQ(size_t(t.numel()), v.size()) << name;
  std::copy(v.begin(), v.end(), t.data<double>());
  return t;
}
std::vector<double> normals(Rng& rng, int64_t n, double scale = 1.0) {
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = rng.normal() * scale;
  return v;
}
void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_LE(std::abs(got[i] - want[i]), tol * std::max(1.0, std::abs(want[i])))
        << what << "[" << i << "]: got " << got[i] << ", want " << want[i];
}

// Values of torch.nn.functional.gelu / gelu(approximate="tanh") / silu in float64 (torch 1.13), at these points.
TEST(OpReferences, ActivationsMatchTorchAndTheirFormulas) {
  const std::vector<double> x = {-3.0, -1.0, -0.5, 0.25, 1.0, 2.5};
  const std::vector<double> torch_gelu = {-0.00404969409489031, -0.15865525393145702, -0.15426876936299344,
                                          0.14967658142073093,  0.841344746068543,    2.4844758366855597};
  const std::vector<double> torch_gelu_tanh = {-0.0036373920817729943, -0.15880800939172324, -0.15428599017485606,
                                               0.149675350701685,      0.8411919906082768,   2.484915733910001};
  const std::vector<double> torch_silu = {-0.14227761953270035, -0.2689414213699951, -0.1887703343990727,
                                          0.14054412522144952,  0.7310585786300049,  2.3103545499468914};
  auto formula = [](Activation act, double v) {
    switch (act) {
      case Activation::kSilu: return v / (1 + std::exp(-v));
      case Activation::kGelu: return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      case Activation::kGeluTanh:
        return 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::acos(-1.0)) * (v + 0.044715 * v * v * v)));
    }
    return 0.0;
  };
  Rng rng(31);
  std::vector<double> many = normals(rng, 300, 3.0), up = normals(rng, 300);
  for (auto [act, want] : {std::pair{Activation::kSilu, torch_silu}, std::pair{Activation::kGelu, torch_gelu},
                           std::pair{Activation::kGeluTanh, torch_gelu_tanh}}) {
    const std::string name = activation_name(act);
    for (DType dt : {DType::kF64, DType::kF32}) {
      const double tol = dt == DType::kF64 ? 1e-14 : 2e-6;  // f32: a few ulps of erf/tanh/exp_fast
      const std::string tag = name + " " + dtype_str(dt);
      Tensor in = f64_tensor("x", {6}, x).to(dt, &cpu_backend()), out("y", {6}, dt, &cpu_backend());
      cpu_backend().activation_forward(out, in, act);
      expect_close(values(out), want, tol, "torch " + tag);
      // The formula over many points, plain and gated (act(gate) * up).
      std::vector<double> ref(many.size()), gated(many.size());
      for (size_t i = 0; i < many.size(); ++i) ref[i] = formula(act, many[i]), gated[i] = ref[i] * up[i];
      Tensor xs = f64_tensor("x", {300}, many).to(dt, &cpu_backend()), ys("y", {300}, dt, &cpu_backend());
      Tensor us = f64_tensor("up", {300}, up).to(dt, &cpu_backend()), gs("g", {300}, dt, &cpu_backend());
      cpu_backend().activation_forward(ys, xs, act);
      cpu_backend().glu_forward(gs, xs, us, act);
      expect_close(values(ys), ref, tol, "formula " + tag);
      expect_close(values(gs), gated, tol, "gated formula " + tag);
    }
  }
  EXPECT_STREQ(activation_name(Activation::kGeluTanh), "gelu_tanh");
}

TEST(OpReferences, TanhSoftcap) {
  Rng rng(32);
  const std::vector<double> x = normals(rng, 50, 20.0);
  std::vector<double> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = 30.0 * std::tanh(x[i] / 30.0);
  Tensor t = f64_tensor("logits", {50}, x);
  cpu_backend().tanh_softcap(t, 30.0);
  expect_close(values(t), want, 1e-14, "tanh_softcap");
  testing::expect_error([&] { cpu_backend().tanh_softcap(t, 0.0); }, {"tanh_softcap", "logits"});
}

// torch.nn.LayerNorm (biased variance) and Gemma's RMSNorm (1 + w), row by row.
TEST(OpReferences, LayerNormAndOffsetRmsNorm) {
  Rng rng(33);
  const int64_t rows = 5, dim = 12;
  std::vector<double> x = normals(rng, rows * dim, 2.0), w = normals(rng, dim), b = normals(rng, dim);
  for (double& v : x) v += 4.0;  // a mean far from 0
  std::vector<double> ln(x.size()), rms(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0, sq = 0;
    for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i] / dim, sq += x[r * dim + i] * x[r * dim + i] / dim;
    for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean) / dim;
    for (int64_t i = 0; i < dim; ++i) {
      ln[r * dim + i] = (x[r * dim + i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i];
      rms[r * dim + i] = x[r * dim + i] / std::sqrt(sq + 1e-6) * (1.0 + w[i]);
    }
  }
  for (DType dt : {DType::kF64, DType::kF32}) {
    Backend& cpu = cpu_backend();
    const double tol = dt == DType::kF64 ? 1e-12 : 2e-5;
    Tensor tx = f64_tensor("x", {rows, dim}, x).to(dt, &cpu), tw = f64_tensor("w", {dim}, w).to(dt, &cpu);
    Tensor tb = f64_tensor("b", {dim}, b).to(dt, &cpu), y("y", {rows, dim}, dt, &cpu);
    Tensor mean("mean", {rows}, dt, &cpu), rstd("rstd", {rows}, dt, &cpu);
    cpu.layernorm_forward(y, mean, rstd, tx, tw, &tb, rows, 1e-5);
    expect_close(values(y), ln, tol, std::string("layernorm ") + dtype_str(dt));
    cpu.rmsnorm_forward(y, rstd, tx, tw, rows, 1e-6, 1.0);
    expect_close(values(y), rms, tol, std::string("rmsnorm+1 ") + dtype_str(dt));
  }
  Tensor tx = f64_tensor("x", {rows, dim}, x), tw = f64_tensor("w", {dim}, w), y("y", {rows, dim}, DType::kF64);
  Tensor mean("mean", {rows}, DType::kF64), rstd("rstd", {rows}, DType::kF64), short_bias("bias", {3}, DType::kF64);
  testing::expect_error([&] { cpu_backend().layernorm_forward(y, mean, rstd, tx, tw, &short_bias, rows, 1e-5); },
                        {"layernorm", "bias"});
}

// HF's apply_rotary_pos_emb on x[..., :rotary_dim] (rotate_half over the rotary dims), the rest passed through; the
// angles pos * theta^(-2i / rotary_dim) computed here. The table is f32, hence 1e-6.
TEST(OpReferences, PartialRopeMatchesHuggingFace) {
  const int64_t B = 2, T = 6, H = 3, D = 10, rotary = 4, half = rotary / 2;  // Phi-3-style factor 0.4
  const RopeTable table = rope_table(T, rotary, 10000.0, {});
  Tensor cos("cos", {T, half}, DType::kF32), sin("sin", {T, half}, DType::kF32);
  cos.assign(table.cos), sin.assign(table.sin);
  Rng rng(34);
  const std::vector<double> x = normals(rng, B * T * H * D);
  std::vector<double> want = x;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < half; ++i) {
          const double angle = double(t) * std::pow(10000.0, -2.0 * double(i) / double(rotary));
          const int64_t at = ((b * T + t) * H + h) * D;
          const double x1 = x[at + i], x2 = x[at + i + half];
          want[at + i] = x1 * std::cos(angle) - x2 * std::sin(angle);
          want[at + i + half] = x2 * std::cos(angle) + x1 * std::sin(angle);
        }
  Tensor tx = f64_tensor("x", {B, T, H, D}, x);
  cpu_backend().rope(tx, cos, sin, B, T, H, nullptr, false);
  expect_close(values(tx), want, 1e-6, "partial rope");
  Tensor too_small("q", {B, T, H, 3}, DType::kF64);  // head_dim 3 < 4 rotary dims
  testing::expect_error([&] { cpu_backend().rope(too_small, cos, sin, B, T, H, nullptr, false); },
                        {"rope", "q", "head_dim"});
}

// Dense attention from the definition: row i of sequence b sees key j iff j <= i, (j >= segment_start or
// j < prefix_end) and i - j < window; scores = cap tanh(scale q.k / cap); out = softmax(scores) v.
struct DenseAttention {
  std::vector<double> out, lse;
};
DenseAttention dense_attention(const std::vector<double>& q, const std::vector<double>& k,
                               const std::vector<double>& v, const std::vector<int32_t>& lengths,
                               const std::vector<int32_t>& seg, const std::vector<int32_t>& pre,
                               const AttentionShape& s) {
  const int64_t B = s.batch, T = s.seq, H = s.heads, G = s.kv_heads, D = s.head_dim;
  const double scale = s.scoring.scale > 0 ? s.scoring.scale : 1 / std::sqrt(double(D)), cap = s.scoring.softcap;
  DenseAttention r{std::vector<double>(q.size(), 0.0), std::vector<double>(size_t(B * H * T), 0.0)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < lengths[b]; ++i) {
        const int64_t flat = b * T + i, g = h / (H / G);
        std::vector<double> p(size_t(T), 0.0);
        double mx = -1e300;
        for (int64_t j = 0; j <= i; ++j) {
          const bool seen = (seg.empty() || j >= seg[flat] || j < pre[flat]) &&
                            (s.scoring.window == 0 || i - j < s.scoring.window);
          if (!seen) continue;
          double d = 0;
          for (int64_t e = 0; e < D; ++e) d += q[(flat * H + h) * D + e] * k[(flat - i + j) * G * D + g * D + e];
          d *= scale;
          p[j] = cap > 0 ? cap * std::tanh(d / cap) : d;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= i; ++j) {
          const bool seen = (seg.empty() || j >= seg[flat] || j < pre[flat]) &&
                            (s.scoring.window == 0 || i - j < s.scoring.window);
          p[j] = seen ? std::exp(p[j] - mx) : 0.0;
          sum += p[j];
        }
        r.lse[(b * H + h) * T + i] = mx + std::log(sum);
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t e = 0; e < D; ++e)
            r.out[(flat * H + h) * D + e] += p[j] / sum * v[(flat - i + j) * G * D + g * D + e];
      }
  return r;
}

// T = 150 spans two 128-row blocks and three 64-key tiles, and a window of 40 hides whole key tiles from the
// second block: the tile skipping must agree with the definition. With a window of 66 the second block's first row
// (128) sees key 63 alone of the first tile: an off-by-one in the skipping drops it.
TEST(OpReferences, ScoredAttentionMatchesDenseDefinition) {
  const int64_t B = 2, T = 150, H = 4, G = 2, D = 8;
  const std::vector<int32_t> lengths = {150, 131};
  std::vector<int32_t> seg(size_t(B * T), 0), pre(size_t(B * T), 0);
  for (int64_t t = 70; t < T; ++t) seg[size_t(t)] = 70;  // row 0 packs [0, 70) and [70, 150)
  for (int64_t t = 100; t < T; ++t) seg[size_t(T + t)] = 100, pre[size_t(T + t)] = 20;  // row 1: prompt [0, 20)
  Rng rng(35);
  const std::vector<double> q = normals(rng, B * T * H * D), k = normals(rng, B * T * G * D),
                            v = normals(rng, B * T * G * D);
  Backend& cpu = cpu_backend();
  Tensor len("lengths", {B}, DType::kI32), tseg("segment_start", {B * T}, DType::kI32),
      tpre("prefix_end", {B * T}, DType::kI32);
  std::copy(lengths.begin(), lengths.end(), len.data<int32_t>());
  std::copy(seg.begin(), seg.end(), tseg.data<int32_t>());
  std::copy(pre.begin(), pre.end(), tpre.data<int32_t>());
  for (const AttentionScoring& sc : {AttentionScoring{0.5, 0, 0}, AttentionScoring{0, 2.0, 0},
                                     AttentionScoring{0, 0, 40}, AttentionScoring{0.3, 2.0, 40},
                                     AttentionScoring{0, 0, 66}}) {
    for (bool packed : {false, true}) {
      const AttentionShape s{B, T, H, G, D, sc};
      const std::string what = "scale " + std::to_string(sc.scale) + " cap " + std::to_string(sc.softcap) +
                               " window " + std::to_string(sc.window) + (packed ? " packed" : "");
      const DenseAttention want = dense_attention(q, k, v, lengths, packed ? seg : std::vector<int32_t>{},
                                                  packed ? pre : std::vector<int32_t>{}, s);
      Tensor tq = f64_tensor("q", {B, T, H, D}, q), tk = f64_tensor("k", {B, T, G, D}, k),
             tv = f64_tensor("v", {B, T, G, D}, v);
      Tensor out("out", {B, T, H, D}, DType::kF64), lse("lse", {B * H * T}, DType::kF64);
      cpu.attention_forward(out, lse, tq, tk, tv, len, s, packed ? AttentionMaskTensors{&tseg, &tpre}
                                                                 : AttentionMaskTensors{});
      expect_close(values(out), want.out, 1e-12, "out " + what);
      expect_close(values(lse), want.lse, 1e-12, "lse " + what);
    }
  }
}

// Generation's cached attention with a window and a soft cap gives the rows the training op gives.
TEST(OpReferences, DecodeWithScoringEqualsForwardRows) {
  const int64_t T = 9, H = 4, G = 2, D = 4, start = 4, n = T - start;
  Rng rng(36);
  const std::vector<double> q = normals(rng, T * H * D, 2.0), k = normals(rng, T * G * D, 2.0),
                            v = normals(rng, T * G * D);
  for (DType dt : {DType::kF64, DType::kF32}) {
    for (const AttentionScoring& sc : {AttentionScoring{0, 0, 3}, AttentionScoring{0.4, 1.5, 3},
                                       AttentionScoring{0, 1.5, 0}}) {
      Backend& cpu = cpu_backend();
      const AttentionShape s{1, T, H, G, D, sc};
      Tensor len("lengths", {1}, DType::kI32);
      len.data<int32_t>()[0] = int32_t(T);
      Tensor tq = f64_tensor("q", {1, T, H, D}, q).to(dt, &cpu), tk = f64_tensor("k", {1, T, G, D}, k).to(dt, &cpu),
             tv = f64_tensor("v", {1, T, G, D}, v).to(dt, &cpu);
      Tensor out("out", {1, T, H, D}, dt, &cpu), lse("lse", {H * T}, dt, &cpu);
      cpu.attention_forward(out, lse, tq, tk, tv, len, s, {});
      Tensor q_new = f64_tensor("q_new", {n, H, D},
                                std::vector<double>(q.begin() + start * H * D, q.end())).to(dt, &cpu);
      Tensor dec("decoded", {n, H, D}, dt, &cpu);
      cpu.attention_decode(dec, q_new, tk, tv, start, n, H, G, sc);
      const std::vector<double> all = values(out);
      expect_close(values(dec), std::vector<double>(all.begin() + start * H * D, all.end()),
                   dt == DType::kF64 ? 1e-12 : 2e-5,
                   std::string("decode ") + dtype_str(dt) + " window " + std::to_string(sc.window));
    }
  }
}

// Scoring options and soft caps out of range are rejected with the option named, not silently used.
TEST(OpReferences, RejectsNegativeScoringAndCaps) {
  Backend& cpu = cpu_backend();
  const int64_t T = 4, H = 2, D = 4;
  Tensor q("q", {1, T, H, D}, DType::kF64), k("k", {1, T, H, D}, DType::kF64), v("v", {1, T, H, D}, DType::kF64);
  Tensor out("out", {1, T, H, D}, DType::kF64), lse("lse", {H * T}, DType::kF64), len("lengths", {1}, DType::kI32);
  len.data<int32_t>()[0] = int32_t(T);
  for (const AttentionScoring& bad : {AttentionScoring{-1, 0, 0}, AttentionScoring{0, -2, 0},
                                      AttentionScoring{0, 0, -3}}) {
    testing::expect_error([&] { cpu.attention_forward(out, lse, q, k, v, len, {1, T, H, H, D, bad}, {}); },
                          {"attention", "softcap", "sliding window"});
    Tensor dec("out", {T, H, D}, DType::kF64), qd("q", {T, H, D}, DType::kF64);
    testing::expect_error([&] { cpu.attention_decode(dec, qd, k, v, 0, T, H, H, bad); },
                          {"attention_decode", "sliding window"});
  }
  Tensor x("x", {2, 3}, DType::kF64), w("w", {5, 3}, DType::kF64), logp("logp", {1}, DType::kF64);
  Tensor rows("rows", {1}, DType::kI32), targets("targets", {1}, DType::kI32);
  rows.data<int32_t>()[0] = 0, targets.data<int32_t>()[0] = 1;
  testing::expect_error(
      [&] { cpu.token_logprobs(&logp, nullptr, nullptr, nullptr, x, w, rows, targets, 0, -1.0); },
      {"token_logprobs", "softcap"});
}

}  // namespace
}  // namespace tandem
