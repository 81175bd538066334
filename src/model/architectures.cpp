#include "model/architectures.h"

#include "core/check.h"

namespace tandem {

const std::vector<const Architecture*>& all_architectures() {
  static const std::vector<const Architecture*> all = {&llama_family(), &gpt_neox_family(), &gemma_family(),
                                                       &gemma2_family(), &phi3_family()};
  return all;
}

std::string supported_model_types() {
  std::string out;
  for (const Architecture* a : all_architectures())
    for (const auto& t : a->model_types) out += (out.empty() ? "" : ", ") + t;
  return out;
}

const Architecture& architecture_of(const std::string& model_type, const std::string& source) {
  for (const Architecture* a : all_architectures())
    for (const auto& t : a->model_types)
      if (t == model_type) return *a;
  fail(source, ": model_type '", model_type, "' is not supported (", supported_model_types(), ")");
}

}  // namespace tandem
