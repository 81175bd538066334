#include "model/decoder_layer.h"

namespace tandem {

void norm_forward(Backend& b, const ModelConfig& c, Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x,
                  const Tensor& weight, const Tensor& bias, int64_t rows) {
  if (c.norm == NormKind::kLayerNorm)
    b.layernorm_forward(out, mean, rstd, x, weight, bias.empty() ? nullptr : &bias, rows, c.norm_eps);
  else
    b.rmsnorm_forward(out, rstd, x, weight, rows, c.norm_eps, c.norm == NormKind::kRmsOffset ? 1.0 : 0.0);
}

void norm_backward(Backend& b, const ModelConfig& c, Tensor& dx, Tensor* dweight, Tensor* dbias, const Tensor& dout,
                   const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd, int64_t rows) {
  if (c.norm == NormKind::kLayerNorm)
    b.layernorm_backward(dx, dweight, dbias, dout, x, weight, mean, rstd, rows);
  else
    b.rmsnorm_backward(dx, dweight, dout, x, weight, rstd, rows, c.norm == NormKind::kRmsOffset ? 1.0 : 0.0);
}

AttentionScoring attention_scoring(const ModelConfig& c, int64_t l) {
  return {c.attention_scale, c.attn_logit_softcap, c.layer_window(l)};
}

namespace {
// out = residual + the output of projection p over `input`, through the branch's output norm when the model has
// one (Gemma-2). In bf16 the projection's output is rounded once, as a bf16 matmul's is, before the f32 add.
void add_branch(const LayerPass& pass, LayerOps& ops, int64_t l, Proj p, const Tensor& input, const Tensor& norm_w,
                Act saved, Act saved_rstd, LayerActs& a, const Tensor& residual, Tensor& out) {
  Backend& b = pass.backend;
  const int64_t N = pass.batch * pass.seq;
  if (!norm_w.empty()) {
    ops.project(l, p, input, a[saved], a);
    Tensor unused;
    norm_forward(b, pass.config, pass.scratch, unused, a[saved_rstd], a[saved], norm_w, Tensor(), N);
    b.add(out, pass.scratch, residual);
    return;
  }
  const bool direct = out.dtype() == pass.scratch.dtype() && &out != &residual;
  Tensor& y = direct ? out : pass.scratch;
  ops.project(l, p, input, y, a);
  b.add(out, y, residual);
}

void attention_block(const LayerPass& pass, LayerOps& ops, int64_t l, LayerActs& a) {
  const ModelConfig& c = pass.config;
  const LayerWeights& w = pass.weights.layers[size_t(l)];
  Backend& b = pass.backend;
  const int64_t N = pass.batch * pass.seq, H = c.num_attention_heads, G = c.num_key_value_heads;
  const Tensor& h1 = a[Act::kH1];
  if (c.qk_norm) {  // Qwen3 normalises each head of q and k before RoPE
    Tensor unused;
    ops.project(l, Proj::kQ, h1, a[Act::kQPre], a);
    ops.project(l, Proj::kK, h1, a[Act::kKPre], a);
    norm_forward(b, c, a[Act::kQ], unused, a[Act::kRstdQ], a[Act::kQPre], w.q_norm, Tensor(), N * H);
    norm_forward(b, c, a[Act::kK], unused, a[Act::kRstdK], a[Act::kKPre], w.k_norm, Tensor(), N * G);
  } else {
    ops.project(l, Proj::kQ, h1, a[Act::kQ], a);
    ops.project(l, Proj::kK, h1, a[Act::kK], a);
  }
  ops.project(l, Proj::kV, h1, a[Act::kV], a);
  b.rope(a[Act::kQ], pass.rope_cos, pass.rope_sin, pass.batch, pass.seq, H, pass.positions, false);
  b.rope(a[Act::kK], pass.rope_cos, pass.rope_sin, pass.batch, pass.seq, G, pass.positions, false);
  ops.attend(l, a);
}

void mlp_block(const LayerPass& pass, LayerOps& ops, int64_t l, LayerActs& a) {
  const ModelConfig& c = pass.config;
  if (c.mlp == MlpKind::kGated) {
    ops.project(l, Proj::kGate, a[Act::kH2], a[Act::kGate], a);
    ops.project(l, Proj::kUp, a[Act::kH2], a[Act::kUp], a);
    pass.backend.glu_forward(a[Act::kMlpAct], a[Act::kGate], a[Act::kUp], c.activation);
  } else {
    ops.project(l, Proj::kUp, a[Act::kH2], a[Act::kUp], a);
    pass.backend.activation_forward(a[Act::kMlpAct], a[Act::kUp], c.activation);
  }
}
}  // namespace

void layer_forward(const LayerPass& pass, LayerOps& ops, int64_t l, const Tensor& x_in, LayerActs& a, Tensor& x_out) {
  const ModelConfig& c = pass.config;
  const LayerWeights& w = pass.weights.layers[size_t(l)];
  Backend& b = pass.backend;
  const int64_t N = pass.batch * pass.seq;

  norm_forward(b, c, a[Act::kH1], a[Act::kMean1], a[Act::kRstd1], x_in, w.attn_norm, w.attn_norm_bias, N);
  attention_block(pass, ops, l, a);
  if (c.residual == ResidualKind::kSequential) {
    // x_mid = x_in + attn(norm1(x_in)); x_out = x_mid + mlp(norm2(x_mid))
    Tensor& x_mid = a[Act::kXMid];
    add_branch(pass, ops, l, Proj::kO, a[Act::kAtt], w.attn_out_norm, Act::kAttnOut, Act::kRstdAttnOut, a, x_in,
               x_mid);
    norm_forward(b, c, a[Act::kH2], a[Act::kMean2], a[Act::kRstd2], x_mid, w.mlp_norm, w.mlp_norm_bias, N);
    mlp_block(pass, ops, l, a);
    add_branch(pass, ops, l, Proj::kDown, a[Act::kMlpAct], w.mlp_out_norm, Act::kMlpOut, Act::kRstdMlpOut, a, x_mid,
               x_out);
  } else {
    // GPT-NeoX's parallel residual: x_out = x_in + attn(norm1(x_in)) + mlp(norm2(x_in))
    add_branch(pass, ops, l, Proj::kO, a[Act::kAtt], w.attn_out_norm, Act::kAttnOut, Act::kRstdAttnOut, a, x_in,
               x_out);
    norm_forward(b, c, a[Act::kH2], a[Act::kMean2], a[Act::kRstd2], x_in, w.mlp_norm, w.mlp_norm_bias, N);
    mlp_block(pass, ops, l, a);
    add_branch(pass, ops, l, Proj::kDown, a[Act::kMlpAct], w.mlp_out_norm, Act::kMlpOut, Act::kRstdMlpOut, a, x_out,
               x_out);
  }
}

}  // namespace tandem
