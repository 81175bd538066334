#include "backends/activation.h"

namespace tandem {

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::kSilu: return "silu";
    case Activation::kGelu: return "gelu";
    case Activation::kGeluTanh: return "gelu_tanh";
  }
  return "unknown activation";
}

}  // namespace tandem
