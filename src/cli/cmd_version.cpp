// `tandem version` / `tandem --version`: what this binary is, for bug reports: version (CMake's project version),
// the git commit it was configured from, the compiler, and the backends and precisions compiled in.
#include <cblas.h>

#include <cstdio>
#include <oneapi/dnnl/dnnl.h>

#include "backends/devices.h"
#include "cli/commands.h"

#ifndef TANDEM_VERSION
#define TANDEM_VERSION "unknown"
#endif
#ifndef TANDEM_GIT_COMMIT
#define TANDEM_GIT_COMMIT "unknown"
#endif

namespace tandem {

int cmd_version(int, char**) {
  const dnnl_version_t* dnnl = dnnl_version();
#if defined(__clang__)
  const char* compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  const char* compiler = "g++ " __VERSION__;
#else
  const char* compiler = "unknown compiler";
#endif
  const std::string cuda = cuda_compiled() ? ", cuda (" + cuda_library_versions() + "; device = \"cuda\")" : "";
  std::printf("tandem %s (commit %s)\n"
              "compiler: %s, C++ %ld\n"
              "backends: cpu (oneDNN %d.%d.%d for GEMMs, %s)%s\n"
              "precisions: fp32, bf16 (training and inference); fp64 for gradient checks\n",
              TANDEM_VERSION, TANDEM_GIT_COMMIT, compiler, long(__cplusplus), dnnl->major, dnnl->minor, dnnl->patch,
              openblas_get_config(), cuda.c_str());
  return 0;
}

}  // namespace tandem
