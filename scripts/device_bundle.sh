#!/usr/bin/env bash
# Builds, here, what scripts/device_check.sh runs on the GPU machine, and packs it into .device/bundle.tar.xz: that
# machine has nvcc and CUDA's libraries but not Tandem's Debian packages (oneDNN, OpenBLAS, GoogleTest, toml++), and
# nothing can be fetched there. The build targets Hopper only (sm_90, the H200), without -march=native (the GPU
# machine's CPU is another), and without MPI and NCCL (one GPU). The libraries the binaries need beyond glibc,
# libstdc++ and CUDA travel in the bundle (.device/lib).
# usage: scripts/device_bundle.sh     then: device run with carry [".device"], command scripts/device_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-device
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTANDEM_NATIVE=OFF -DTANDEM_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DTANDEM_NCCL=OFF -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON > /dev/null
cmake --build "$build" -j "$(nproc)" --target tandem tandem_tests bench_gpu_step dump_logits
rm -rf .device && mkdir -p .device/lib
for binary in tandem tandem_tests bench_gpu_step dump_logits; do
  ldd "$build/$binary" | awk '/=> \//{print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*|libdl.so*|libpthread.so*|librt.so*) ;;  # the system's
    libcudart.so*|libcublas*.so*|libcuda.so*) ;;  # CUDA's, from the GPU machine's toolkit (same major version)
    *) cp -L "$lib" .device/lib/ ;;
  esac
done
tar -cJf .device/bundle.tar.xz "$build/tandem" "$build/tandem_tests" "$build/bench_gpu_step" "$build/dump_logits" \
  .device/lib
rm -rf .device/lib
echo "bundle: $(du -h .device/bundle.tar.xz | cut -f1) (.device/bundle.tar.xz; the device tool carries at most 64 MiB)"
echo "the source tree it was built from: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
