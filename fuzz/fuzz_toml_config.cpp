// Training configs: TOML syntax, every key's type and domain, overrides; a config that parses must validate.
#include "fuzz_input.h"
#include "train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::fuzz::expect_clean([&] {
    const auto c = tandem::TrainConfig::from_toml_string(tandem::fuzz::text(data, size), {}, "fuzz.toml");
    c.to_json();
  });
  return 0;
}
