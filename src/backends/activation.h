// The elementwise activations of a transformer's MLP, named by what they compute rather than by model: an
// architecture's config maps its Hugging Face hidden_act onto one of these (model/), and the backend ops
// glu_* (gated MLP: act(gate) * up) and activation_* (plain MLP: act(x)) take it as an argument.
#pragma once

namespace tandem {

enum class Activation {
  kSilu,      // x * sigmoid(x) (HF "silu", "swish"): Llama, Qwen, Mistral, Phi-3
  kGelu,      // exact GELU 0.5 x (1 + erf(x / sqrt 2)) (HF "gelu"): GPT-NeoX / Pythia
  kGeluTanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (HF "gelu_pytorch_tanh", "gelu_new"): Gemma
};

// "silu", "gelu", "gelu_tanh": for messages and logs.
const char* activation_name(Activation act);

}  // namespace tandem
