// The activation functions of decoder MLPs, by their Hugging Face config names.
#pragma once

namespace tandem {

// kGelu: exact erf GELU ("gelu"); kGeluTanh: the tanh approximation ("gelu_pytorch_tanh", "gelu_new").
enum class Activation { kSilu, kGelu, kGeluTanh };

const char* activation_name(Activation act);

}  // namespace tandem
