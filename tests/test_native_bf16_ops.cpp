// The CPU kernels that read bf16 storage natively, called with the dtype mix the bf16 model gives them (bf16
// activations and weights; the f32 residual stream, statistics and gradients), against the same op on f32 tensors
// holding the same values with each bf16 output rounded once. Both compute in f32 from the same values, so they
// must agree bit for bit; the f32 ops themselves are checked against f64 in test_backend_ops.cpp.
#include <gtest/gtest.h>

#include <vector>

#include "backends/backend.h"
#include "core/rng.h"
#include "model/rope_table.h"

namespace tandem {
namespace {

constexpr DType kF32 = DType::kF32, kBF16 = DType::kBF16;

// One op's tensors twice: `mixed` in the dtypes the model uses, `f32` all f32, both holding the same values (random
// normal * scale, rounded to bf16 so that both dtypes represent them exactly). Gradient outputs start at random
// values, since the backward ops add into them.
struct Pair {
  std::vector<Tensor> mixed, f32;
  Tensor& add(const std::string& name, Shape shape, DType mixed_dtype, Rng& rng, double scale = 1.0) {
    Tensor t(name, std::move(shape), kF32, &cpu_backend());
    std::vector<float> v(size_t(t.numel()));
    for (float& x : v) x = to_float(to_bf16(float(rng.normal() * scale)));
    t.assign(v);
    mixed.push_back(t.to(mixed_dtype, &cpu_backend()));
    f32.push_back(std::move(t));
    return mixed.back();
  }
};

// Every output of the mixed call equals the f32 call's, rounded to the output's dtype.
void expect_same(const Pair& p, const std::vector<size_t>& outputs, const char* op) {
  for (size_t i : outputs) {
    const std::vector<float> got = p.mixed[i].to_floats();
    const std::vector<float> want = p.f32[i].to(p.mixed[i].dtype()).to_floats();
    ASSERT_EQ(got.size(), want.size());
    size_t differ = 0;
    for (size_t k = 0; k < got.size(); ++k) differ += got[k] != want[k];
    EXPECT_EQ(differ, 0u) << op << ": " << differ << " of " << got.size() << " values of " << p.mixed[i].name
                          << " (" << dtype_str(p.mixed[i].dtype()) << ") differ from the f32 op";
  }
}

Backend& cpu() { return cpu_backend(); }

TEST(NativeBf16Ops, ResidualAddOfABf16Projection) {
  Rng rng(1);
  Pair p;
  p.add("out", {5, 33}, kF32, rng), p.add("o", {5, 33}, kBF16, rng), p.add("x_in", {5, 33}, kF32, rng);
  for (auto* t : {&p.mixed, &p.f32}) cpu().add((*t)[0], (*t)[1], (*t)[2]);
  expect_same(p, {0}, "add");
}

TEST(NativeBf16Ops, RmsNormOverTheF32ResidualAndOverBf16Heads) {
  for (DType x_dtype : {kF32, kBF16}) {  // the layer norms read the f32 residual; Qwen3's q/k norms read bf16 q, k
    Rng rng(2);
    Pair p;
    const int64_t rows = 6, dim = 40;
    p.add("x", {rows, dim}, x_dtype, rng, 3.0), p.add("weight", {dim}, kBF16, rng);
    p.add("y", {rows, dim}, kBF16, rng), p.add("rstd", {rows}, kF32, rng);
    p.add("dy", {rows, dim}, kF32, rng), p.add("dx", {rows, dim}, kF32, rng), p.add("dweight", {dim}, kF32, rng);
    for (auto* t : {&p.mixed, &p.f32}) {
      auto& v = *t;
      cpu().rmsnorm_forward(v[2], v[3], v[0], v[1], rows, 1e-6, 0.0);
      cpu().rmsnorm_backward(v[5], &v[6], v[4], v[0], v[1], v[3], rows, 0.0);
    }
    expect_same(p, {2, 3, 5, 6}, x_dtype == kF32 ? "rmsnorm (f32 x)" : "rmsnorm (bf16 x)");
  }
}

TEST(NativeBf16Ops, GemmaRmsNormWithWeightOffset) {
  Rng rng(7);
  Pair p;
  const int64_t rows = 6, dim = 40;
  p.add("x", {rows, dim}, kF32, rng, 3.0), p.add("weight", {dim}, kBF16, rng, 0.1);  // Gemma's w near 0: (1 + w)
  p.add("y", {rows, dim}, kBF16, rng), p.add("rstd", {rows}, kF32, rng);
  p.add("dy", {rows, dim}, kF32, rng), p.add("dx", {rows, dim}, kF32, rng), p.add("dweight", {dim}, kF32, rng);
  for (auto* t : {&p.mixed, &p.f32}) {
    auto& v = *t;
    cpu().rmsnorm_forward(v[2], v[3], v[0], v[1], rows, 1e-6, 1.0);
    cpu().rmsnorm_backward(v[5], &v[6], v[4], v[0], v[1], v[3], rows, 1.0);
  }
  expect_same(p, {2, 3, 5, 6}, "rmsnorm + 1");
}

TEST(NativeBf16Ops, LayerNormOverTheF32ResidualAndOverBf16) {
  for (DType x_dtype : {kF32, kBF16}) {
    Rng rng(8);
    Pair p;
    const int64_t rows = 6, dim = 40;
    p.add("x", {rows, dim}, x_dtype, rng, 3.0), p.add("weight", {dim}, kBF16, rng), p.add("bias", {dim}, kBF16, rng);
    p.add("y", {rows, dim}, kBF16, rng), p.add("mean", {rows}, kF32, rng), p.add("rstd", {rows}, kF32, rng);
    p.add("dy", {rows, dim}, kF32, rng), p.add("dx", {rows, dim}, kF32, rng), p.add("dweight", {dim}, kF32, rng);
    p.add("dbias", {dim}, kF32, rng);
    for (auto* t : {&p.mixed, &p.f32}) {
      auto& v = *t;
      cpu().layernorm_forward(v[3], v[4], v[5], v[0], v[1], &v[2], rows, 1e-5);
      cpu().layernorm_backward(v[7], &v[8], &v[9], v[6], v[0], v[1], v[4], v[5], rows);
    }
    expect_same(p, {3, 4, 5, 7, 8, 9}, x_dtype == kF32 ? "layernorm (f32 x)" : "layernorm (bf16 x)");
  }
}

TEST(NativeBf16Ops, GatedAndPlainActivationsWithF32Gradients) {
  for (Activation act : {Activation::kSilu, Activation::kGelu, Activation::kGeluTanh}) {
    Rng rng(3);
    Pair p;
    const Shape s{7, 29};
    p.add("gate", s, kBF16, rng, 2.0), p.add("up", s, kBF16, rng), p.add("act", s, kBF16, rng);
    p.add("dact", s, kF32, rng), p.add("dgate", s, kF32, rng), p.add("dup", s, kF32, rng);
    p.add("plain", s, kBF16, rng), p.add("dx", s, kF32, rng);
    for (auto* t : {&p.mixed, &p.f32}) {
      auto& v = *t;
      cpu().glu_forward(v[2], v[0], v[1], act);
      cpu().glu_backward(v[4], v[5], v[3], v[0], v[1], act);
      cpu().activation_forward(v[6], v[0], act);
      cpu().activation_backward(v[7], v[3], v[0], act);
    }
    expect_same(p, {2, 4, 5, 6, 7}, activation_name(act));
  }
}

TEST(NativeBf16Ops, TanhSoftcapInPlace) {
  Rng rng(9);
  Pair p;
  p.add("logits", {5, 31}, kBF16, rng, 40.0);
  for (auto* t : {&p.mixed, &p.f32}) cpu().tanh_softcap((*t)[0], 30.0);
  expect_same(p, {0}, "tanh_softcap");
}

TEST(NativeBf16Ops, RopeRotatesBf16InPlace) {
  const int64_t B = 2, T = 9, H = 3, D = 8;
  const RopeTable table = rope_table(T, D, 10000.0, {});
  Tensor cos("cos", {T, D / 2}, kF32, &cpu()), sin("sin", {T, D / 2}, kF32, &cpu());
  cos.assign(table.cos), sin.assign(table.sin);
  Rng rng(4);
  Pair p;
  p.add("q", {B, T, H, D}, kBF16, rng);
  for (auto* t : {&p.mixed, &p.f32}) cpu().rope((*t)[0], cos, sin, B, T, H, nullptr, false);
  expect_same(p, {0}, "rope");
}

TEST(NativeBf16Ops, PartialRopeRotatesBf16InPlace) {
  const int64_t B = 2, T = 9, H = 3, D = 8, rotary = 4;  // GPT-NeoX rotary_pct 0.5
  const RopeTable table = rope_table(T, rotary, 10000.0, {});
  Tensor cos("cos", {T, rotary / 2}, kF32, &cpu()), sin("sin", {T, rotary / 2}, kF32, &cpu());
  cos.assign(table.cos), sin.assign(table.sin);
  Rng rng(10);
  Pair p;
  p.add("k", {B, T, H, D}, kBF16, rng);
  const std::vector<float> before = p.mixed[0].to_floats();
  for (auto* t : {&p.mixed, &p.f32}) cpu().rope((*t)[0], cos, sin, B, T, H, nullptr, false);
  expect_same(p, {0}, "partial rope");
  const std::vector<float> after = p.mixed[0].to_floats();
  for (size_t i = 0; i < after.size(); ++i)
    if (int64_t(i) % D >= rotary) {
      EXPECT_EQ(after[i], before[i]) << "unrotated dim changed at " << i;
    }
}

TEST(NativeBf16Ops, AttentionOverBf16QkvWithF32LseAndGradients) {
  const int64_t B = 2, T = 150, H = 4, G = 2, D = 8;  // T > one 128-row block
  const AttentionShape s{B, T, H, G, D};
  Tensor lengths("lengths", {B}, DType::kI32, &cpu());
  lengths.assign({150, 97});
  Rng rng(5);
  Pair p;
  p.add("q", {B, T, H, D}, kBF16, rng), p.add("k", {B, T, G, D}, kBF16, rng), p.add("v", {B, T, G, D}, kBF16, rng);
  p.add("out", {B, T, H, D}, kBF16, rng), p.add("lse", {B * H * T}, kF32, rng), p.add("dout", {B, T, H, D}, kF32, rng);
  p.add("dq", {B, T, H, D}, kF32, rng), p.add("dk", {B, T, G, D}, kF32, rng), p.add("dv", {B, T, G, D}, kF32, rng);
  for (auto* t : {&p.mixed, &p.f32}) cpu().attention_forward((*t)[3], (*t)[4], (*t)[0], (*t)[1], (*t)[2], lengths, s, {});
  expect_same(p, {3, 4}, "attention");
  p.f32[3].assign(p.mixed[3].to_floats());  // the backward reads the stored (rounded) output
  for (auto* t : {&p.mixed, &p.f32}) {
    auto& v = *t;
    cpu().attention_backward(v[6], v[7], v[8], v[5], v[3], v[4], v[0], v[1], v[2], lengths, s, {});
  }
  expect_same(p, {6, 7, 8}, "attention backward");
}

TEST(NativeBf16Ops, ScoredAttentionOverBf16Qkv) {
  const int64_t B = 2, T = 150, H = 4, G = 2, D = 8;
  const AttentionShape s{B, T, H, G, D, {0.25, 1.5, 40}};  // Gemma-2-style scale, soft cap and window
  Tensor lengths("lengths", {B}, DType::kI32, &cpu());
  lengths.assign({150, 97});
  Rng rng(11);
  Pair p;
  p.add("q", {B, T, H, D}, kBF16, rng, 2.0), p.add("k", {B, T, G, D}, kBF16, rng, 2.0);
  p.add("v", {B, T, G, D}, kBF16, rng);
  p.add("out", {B, T, H, D}, kBF16, rng), p.add("lse", {B * H * T}, kF32, rng), p.add("dout", {B, T, H, D}, kF32, rng);
  p.add("dq", {B, T, H, D}, kF32, rng), p.add("dk", {B, T, G, D}, kF32, rng), p.add("dv", {B, T, G, D}, kF32, rng);
  for (auto* t : {&p.mixed, &p.f32}) {
    auto& v = *t;
    cpu().attention_forward(v[3], v[4], v[0], v[1], v[2], lengths, s, {});
  }
  expect_same(p, {3, 4}, "scored attention");
  p.f32[3].assign(p.mixed[3].to_floats());
  for (auto* t : {&p.mixed, &p.f32}) {
    auto& v = *t;
    cpu().attention_backward(v[6], v[7], v[8], v[5], v[3], v[4], v[0], v[1], v[2], lengths, s, {});
  }
  expect_same(p, {6, 7, 8}, "scored attention backward");
}

}  // namespace
}  // namespace tandem
