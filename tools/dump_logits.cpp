// Writes a model's logits for given token ids to a safetensors file, for comparing Tandem with another
// implementation on the same checkpoint (scripts/hf_interop_check.py, run by scripts/device_check.sh):
//   dump_logits MODEL_DIR --ids IDS.json --out LOGITS.safetensors [--base DIR] [--device cpu|cuda] [--bf16 true]
// MODEL_DIR is a Hugging Face folder or a Tandem checkpoint; a LoRA adapter checkpoint is merged into its base
// (--base, or the adapter's base_model_name_or_path). IDS.json: a list of equally long lists of token ids. The
// file holds "logits" [batch, seq, vocab] in f32.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/devices.h"
#include "cli/args.h"
#include "cli/inference_model.h"
#include "io/safetensors.h"
#include "model/batch.h"
#include "model/weights.h"

using namespace tandem;

int main(int argc, char** argv) {
  try {
    TANDEM_CHECK(argc >= 2 && argv[1][0] != '-', "usage: dump_logits MODEL_DIR --ids IDS.json --out FILE "
                                                 "[--base DIR] [--device cpu|cuda] [--bf16 true]");
    const Args args(argc - 2, argv + 2, {"ids", "out", "base", "device", "bf16"});
    const std::string ids_path = args.str("ids", ""), out = args.str("out", "");
    TANDEM_CHECK(!ids_path.empty() && !out.empty(), "dump_logits: --ids and --out are required");
    std::ifstream in(ids_path);
    TANDEM_CHECK(in, ids_path, ": cannot open");
    const auto ids = nlohmann::json::parse(in).get<std::vector<std::vector<int32_t>>>();
    TANDEM_CHECK(!ids.empty() && !ids[0].empty(), ids_path, ": no token ids");
    const int64_t B = int64_t(ids.size()), T = int64_t(ids[0].size());
    for (const auto& row : ids) TANDEM_CHECK(int64_t(row.size()) == T, ids_path, ": rows differ in length");

    InferenceModel loaded = load_inference_model(argv[1], args.str("base", ""), false);
    const DType dtype = args.str("bf16", "false") == "true" ? DType::kBF16 : DType::kF32;
    Backend& device = backend_for_device(args.str("device", "cpu"));
    DecoderModel model(loaded.model->config(), device, dtype);
    copy_values(model.weights(), loaded.model->weights());
    Batch batch(B, T);
    for (int64_t b = 0; b < B; ++b) std::copy(ids[size_t(b)].begin(), ids[size_t(b)].end(), batch.tokens.begin() + b * T);
    const std::vector<float> logits = model.logits(batch);
    const int64_t V = model.config().vocab_size;
    TANDEM_CHECK(int64_t(logits.size()) == B * T * V, "dump_logits: got ", logits.size(), " logits, expected ",
                 B * T * V);
    Tensor t("logits", {B, T, V});
    t.assign(logits);
    save_safetensors(out, {&t}, {{"device", device.name()}});
    std::printf("%s: logits [%lld, %lld, %lld] on %s\n", out.c_str(), (long long)B, (long long)T, (long long)V,
                device.name().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump_logits: %s\n", e.what());
    return 1;
  }
}
