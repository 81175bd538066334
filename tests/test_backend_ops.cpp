// One table for every backend op (ggml's test-backend-ops): each case builds random inputs, runs the op's forward
// and backward through a Backend, and is checked two ways.
//  - Precision: every compiled backend at every storage dtype it supports against the f64 CPU result. Tolerance
//    per dtype, relative to the output's largest magnitude: f32 2e-5 (fp32 rounding through GEMMs and fast exp),
//    bf16 1.6e-2 (inputs and outputs rounded to bf16; compute in f32).
//  - Gradients: the f64 CPU backward against central finite differences of the forward (loss = sum(r * out)),
//    relative 1e-7 (tests/gradcheck.h).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/rng.h"
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
  cases.push_back({"swiglu", {{"gate", s, true, 2.0}, {"up", s}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("act", in[0].shape, dt, b)};
                     b.swiglu_forward(out[0], in[0], in[1]);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                     b.swiglu_backward(g[0], g[1], dout[0], in[0], in[1]);
                     return g;
                   }});
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
  cases.push_back({"rmsnorm", {{"x", {rows, 8}}, {"weight", {8}}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("y", in[0].shape, dt, b), make("rstd", {rows}, dt, b)};
                     b.rmsnorm_forward(out[0], out[1], in[0], in[1], rows, 1e-5);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors& out, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                     b.rmsnorm_backward(g[0], &g[1], dout[0], in[0], in[1], out[1], rows);
                     return g;
                   },
                   {true, false}});
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
  cases.push_back({"attention_decode", {{"q", {3, H, D}}, {"k_cache", {T, G, D}}, {"v_cache", {T, G, D}}},
                   [=](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("out", in[0].shape, dt, b)};
                     b.attention_decode(out[0], in[0], in[1], in[2], /*start=*/4, /*n=*/3, H, G);
                     return out;
                   },
                   nullptr});
  const int64_t rows = 5, dim = 6, vocab = 11;
  cases.push_back({"token_logprobs",
                   {{"x", {rows, dim}}, {"w", {vocab, dim}}, {"rows", {7}, false, 1, int32_t(rows)},
                    {"targets", {7}, false, 1, int32_t(vocab)}},
                   [](Backend& b, Tensors& in, DType dt) {
                     Tensors out{make("logp", {7}, dt, b)};
                     b.token_logprobs(&out[0], nullptr, nullptr, nullptr, in[0], in[1], in[2], in[3], 2);
                     return out;
                   },
                   [](Backend& b, Tensors& in, Tensors&, Tensors& dout, DType dt) {
                     Tensors g{zeros_like(in[0], dt, b), zeros_like(in[1], dt, b)};
                     Tensor logp = make("logp", {7}, dt, b);
                     b.token_logprobs(&logp, &g[0], &g[1], &dout[0], in[0], in[1], in[2], in[3], 2);
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

std::vector<Backend*> compiled_backends() { return {&cpu_backend()}; }
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
  EXPECT_EQ(checked, 2) << c.name << ": a backend lacks a storage dtype";
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

INSTANTIATE_TEST_SUITE_P(AllOps, BackendOps, ::testing::Range(0, int(all_cases().size())),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return identifier(all_cases()[size_t(info.param)].name);
                         });

}  // namespace
}  // namespace tandem
