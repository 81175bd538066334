// safetensors files: header length, JSON header, dtypes, shapes, offsets and data, read then loaded in full.
#include "fuzz_input.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tandem::fuzz::as_file(data, size, ".safetensors");
  tandem::fuzz::expect_clean([&] {
    const tandem::SafetensorsFile f(path);
    for (const std::string& name : f.names()) {
      using tandem::Dtype;
      const Dtype t = f.entry(name).dtype;
      if (t == Dtype::F32 || t == Dtype::F16 || t == Dtype::BF16 || t == Dtype::F64) f.load(name);
      else f.load_ints(name);  // a clean error for the dtypes it does not read
    }
  });
  return 0;
}
