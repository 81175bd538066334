// Hugging Face model folders: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json. Tensors are matched by their Hugging Face names and shape-checked.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/decoder_model.h"

namespace tandem {

// Fills every tensor of `weights` from the folder's safetensors; a missing tensor or a wrong shape is an error
// naming the tensor and the file. Tensors the model does not use (e.g. rotary caches) are ignored.
void load_weights(ModelWeights& weights, const std::string& model_dir);
// A tensor to fill from a checkpoint: its name there, and the row interleave of its layout (model/tensor_table.h).
struct TensorRequest {
  std::string name;
  Tensor* into;
  int64_t interleaved_heads = 0;
};
// The same for any tensors: each is filled from its checkpoint tensor, converted to the tensor's dtype and row
// order (how AdamW's f32 master copies of a bf16 model get an fp32 checkpoint's exact values).
void load_tensors(const std::string& model_dir, const std::vector<TensorRequest>& wanted);

// The model of the folder, its weights stored in `dtype`: a bf16 model is filled tensor by tensor, never holding
// an f32 copy of the whole model, whatever the file's dtype.
std::unique_ptr<DecoderModel> load_model(const std::string& model_dir, DType dtype = DType::kF32,
                                         Backend& backend = cpu_backend());

// Writes config.json and model.safetensors (fp32, or bf16 when asked or when the model is bf16; torch_dtype says
// which), each atomically.
void save_model(const DecoderModel& model, const std::string& model_dir, bool bf16 = false);

}  // namespace tandem
