// The device seam: everything the model, the optimizer and generation compute goes through one of these ops.
// A backend is an allocator (core/memory.h) plus the ops; tensors passed to an op live on that backend's device.
// Conventions (as llm.c's and ggml's): forward ops overwrite their outputs; backward ops *add* into gradient
// outputs ("parameters +=, activations ="); a null gradient pointer skips that gradient (a frozen weight).
// Geometry comes from the tensors' shapes where it is unambiguous and from the dims structs otherwise; every
// tensor's size is checked against it and an error names the tensor.
// Storage dtypes: f32, bf16 (computed in f32: fp32 accumulation, statistics and softmax), f64 for gradient checks.
// Tensors of one op may mix f32 and bf16 (bf16 activations, f32 gradients and statistics). An op a backend lacks
// for a dtype is an error naming the op, the backend and the dtype (see supports()).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backends/activation.h"
#include "backends/attention_shape.h"
#include "core/memory.h"
#include "core/tensor.h"

namespace tandem {

// One training step of AdamW for one tensor, torch semantics: p *= decay; m, v updated; p -= step_size * m /
// (sqrt(v) / bc2_sqrt + eps), with the gradient read as grad * grad_scale (how clipping is applied).
struct AdamWStep {
  float lr_step_size, beta1, beta2, eps, decay, bc2_sqrt, grad_scale;
};

// Optional attention structure per token [B*T] (i32): see backends/attention_shape.h. Null: plain causal.
struct AttentionMaskTensors {
  const Tensor* segment_start = nullptr;
  const Tensor* prefix_end = nullptr;
};

class Backend : public Allocator {
 public:
  virtual std::string name() const = 0;  // e.g. "cpu (OpenMP, 2 threads; GEMM: ...)"
  virtual bool supports(DType dtype) const = 0;

  // Elementwise, over all elements. Outputs may alias inputs.
  virtual void add(Tensor& out, const Tensor& a, const Tensor& b) = 0;      // out = a + b
  virtual void mul(Tensor& out, const Tensor& a, const Tensor& b) = 0;      // out = a * b
  virtual void add_mul(Tensor& acc, const Tensor& a, const Tensor& b) = 0;  // acc += a * b
  virtual void scale(Tensor& x, double s) = 0;                              // x *= s
  virtual double sum_squares(const Tensor& x) = 0;                          // accumulated in f64
  virtual void tanh_softcap(Tensor& x, double cap) = 0;  // x = cap * tanh(x / cap): Gemma-2's logit cap, forward only
  // dst[dst_off .. +count) = src[src_off .. +count), in elements of the (shared) dtype.
  void copy_elements(Tensor& dst, int64_t dst_off, const Tensor& src, int64_t src_off, int64_t count);

  // out [n, dim] = table[ids]; dtable[ids[i]] += dout[i]. ids: i32 [n].
  virtual void embedding_forward(Tensor& out, const Tensor& ids, const Tensor& table) = 0;
  virtual void embedding_backward(Tensor& dtable, const Tensor& ids, const Tensor& dout) = 0;

  // RMSNorm over rows of `dim` (Hugging Face Llama); rstd [rows] (f32 statistics) is saved for backward.
  // out = x * rstd * (weight + weight_offset): 0 for Llama, 1 for Gemma's (1 + w) norms.
  virtual void rmsnorm_forward(Tensor& out, Tensor& rstd, const Tensor& x, const Tensor& weight, int64_t rows,
                               double eps, double weight_offset) = 0;
  virtual void rmsnorm_backward(Tensor& dx, Tensor* dweight, const Tensor& dout, const Tensor& x,
                                const Tensor& weight, const Tensor& rstd, int64_t rows, double weight_offset) = 0;
  // LayerNorm over rows of `dim` (torch.nn.LayerNorm, GPT-NeoX): out = (x - mean) * rstd * weight + bias (null
  // bias: none), biased variance, rstd = 1 / sqrt(var + eps); mean and rstd [rows] (f32) are saved for backward.
  virtual void layernorm_forward(Tensor& out, Tensor& mean, Tensor& rstd, const Tensor& x, const Tensor& weight,
                                 const Tensor* bias, int64_t rows, double eps) = 0;
  virtual void layernorm_backward(Tensor& dx, Tensor* dweight, Tensor* dbias, const Tensor& dout, const Tensor& x,
                                  const Tensor& weight, const Tensor& mean, const Tensor& rstd, int64_t rows) = 0;

  // y [rows, out] = x [rows, in] W^T (+ bias); W [out, in] in Hugging Face layout.
  virtual void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor* bias, int64_t rows) = 0;
  virtual void linear_backward(Tensor* dx, Tensor* dw, Tensor* dbias, const Tensor& dy, const Tensor& x,
                               const Tensor& w, int64_t rows) = 0;
  // LoRA branch: y += scale * (x A^T) B^T with h = x A^T [rows, r] saved; A [r, in], B [out, r].
  virtual void lora_forward(Tensor& y, Tensor& h, const Tensor& x, const Tensor& a, const Tensor& b, int64_t rows,
                            double scale) = 0;
  virtual void lora_backward(Tensor* dx, Tensor& da, Tensor& db, const Tensor& dy, const Tensor& x, const Tensor& h,
                             const Tensor& a, const Tensor& b, int64_t rows, double scale) = 0;

  // Rotary embedding in place on x [batch, seq, heads, head_dim], position of row (b, t) positions[b*seq+t]
  // (i32, null: t). cos/sin [table_positions, half] (f32) with 2 * half <= head_dim: only the first 2 * half dims
  // of each head rotate (partial rotary: GPT-NeoX rotary_pct, Phi-3), the rest pass through. head_dim is x's size
  // / (batch * seq * heads). inverse: the backward rotation.
  virtual void rope(Tensor& x, const Tensor& cos, const Tensor& sin, int64_t batch, int64_t seq, int64_t heads,
                    const Tensor* positions, bool inverse) = 0;

  // Causal GQA attention over right-padded rows (lengths i32 [B]); lse [B, H, T] (f32) saved for backward.
  // s.scoring: score scale, soft cap and sliding window (backends/attention_shape.h), on top of the mask.
  virtual void attention_forward(Tensor& out, Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& lengths, const AttentionShape& s,
                                 const AttentionMaskTensors& mask) = 0;
  virtual void attention_backward(Tensor& dq, Tensor& dk, Tensor& dv, const Tensor& dout, const Tensor& out,
                                  const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& lengths, const AttentionShape& s,
                                  const AttentionMaskTensors& mask) = 0;
  // Generation: q [n, H, D] for positions start..start+n-1 attends causally to the cached k/v [>= start+n, G, D],
  // scored as the training op (the window on absolute positions: position p sees cached key j iff p - j < window).
  virtual void attention_decode(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                int64_t start, int64_t n, int64_t heads, int64_t kv_heads,
                                const AttentionScoring& scoring) = 0;

  // Gated MLP: out = act(gate) * up (SwiGLU with kSilu, GeGLU with kGeluTanh); dgate += ..., dup += ...
  virtual void glu_forward(Tensor& out, const Tensor& gate, const Tensor& up, Activation act) = 0;
  virtual void glu_backward(Tensor& dgate, Tensor& dup, const Tensor& dout, const Tensor& gate, const Tensor& up,
                            Activation act) = 0;
  // Plain MLP: out = act(x); dx += act'(x) * dout (GPT-NeoX's GELU).
  virtual void activation_forward(Tensor& out, const Tensor& x, Activation act) = 0;
  virtual void activation_backward(Tensor& dx, const Tensor& dout, const Tensor& x, Activation act) = 0;

  // LM head fused with log-softmax for scored pairs (row_index, target) (i32 [pairs]) of x [rows, dim] against
  // W [vocab, dim], never materialising more than chunk_rows x vocab logits (0: about 8M logits).
  // logp [pairs] (f32) is written when non-null. With grad [pairs] (f32, dL/dlogp): dx += ..., dw += ... (null
  // dw: frozen head). softcap > 0: logits z become softcap * tanh(z / softcap) before the log-softmax (Gemma-2's
  // final_logit_softcapping), differentiated exactly; 0: off.
  virtual void token_logprobs(Tensor* logp, Tensor* dx, Tensor* dw, const Tensor* grad, const Tensor& x,
                              const Tensor& w, const Tensor& row_index, const Tensor& target, int64_t chunk_rows,
                              double softcap) = 0;

  // One AdamW update of `param` from `grad` with moments m and v (same shape, f32). A bf16 parameter has an f32
  // master copy: the update applies to the master, and the parameter becomes its rounding (llm.c's master weights).
  virtual void adamw_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* master,
                          const AdamWStep& step) = 0;
};

// The rows of logits token_logprobs holds at once: `requested`, or for 0 about 8M logits (16 to 1024 rows). The
// memory plan (model/memory_plan.h) reads it too.
int64_t logits_chunk_rows(int64_t requested, int64_t vocab);

// The process-wide CPU backend (OpenMP; GEMMs through the CPU GEMM library).
Backend& cpu_backend();
// The backend that owns a tensor's memory (host tensors: the CPU backend).
Backend& backend_of(const Tensor& t);

// `t` as a tensor of `shape` and `dtype` on `b`, re-allocated only when it is not one already (contents then
// unspecified): the reused scratch of the model and of generation.
Tensor& ensure_tensor(Backend& b, Tensor& t, const char* name, const Shape& shape, DType dtype = DType::kF32);
// `values` uploaded into `t`, an i32 [values.size()] tensor on `b` (token ids, lengths, positions, masks).
Tensor& upload_ints(Backend& b, Tensor& t, const char* name, const std::vector<int32_t>& values);

}  // namespace tandem
