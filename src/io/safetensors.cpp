#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/safetensors_header.h"

namespace tandem {

namespace {
const std::pair<const char*, Dtype> kDtypes[] = {
    {"F32", Dtype::F32}, {"F16", Dtype::F16}, {"BF16", Dtype::BF16}, {"F64", Dtype::F64}, {"I64", Dtype::I64},
    {"I32", Dtype::I32}, {"I16", Dtype::I16}, {"I8", Dtype::I8},     {"U8", Dtype::U8},   {"BOOL", Dtype::BOOL}};

// Counts the non-finite values of a converted tensor; an error names the first.
void check_finite(const float* v, int64_t n, const std::string& path, const std::string& name) {
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]) && bad++ == 0) first = i;
  TANDEM_CHECK(bad == 0, path, ": tensor ", name, " has ", bad, " non-finite value", bad == 1 ? "" : "s",
               " (first at index ", first, ": ", v[first], ")");
}
}  // namespace

bool dtype_from_name(const std::string& s, Dtype& out) {
  for (const auto& [name, d] : kDtypes)
    if (s == name) {
      out = d;
      return true;
    }
  return false;
}

const char* dtype_name(Dtype d) {
  for (const auto& [name, v] : kDtypes)
    if (v == d) return name;
  return "?";
}

int64_t dtype_size(Dtype d) {
  switch (d) {
    case Dtype::F64: case Dtype::I64: return 8;
    case Dtype::F32: case Dtype::I32: return 4;
    case Dtype::F16: case Dtype::BF16: case Dtype::I16: return 2;
    default: return 1;
  }
}

float f16_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  if (exp == 0) {
    if (mant == 0) return std::bit_cast<float>(sign);
    // subnormal: renormalise
    exp = 127 - 15 + 1;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      --exp;
    }
    mant &= 0x3ffu;
    return std::bit_cast<float>(sign | (exp << 23) | (mant << 13));
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  TANDEM_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  map_size_ = static_cast<size_t>(st.st_size);
  if (map_size_ < 8) {
    ::close(fd);
    fail(path, ": not a safetensors file (", map_size_, " bytes, shorter than the 8-byte header length)");
  }
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  TANDEM_CHECK(m != MAP_FAILED, path, ": cannot map: ", std::strerror(errno));
  map_ = static_cast<const uint8_t*>(m);
  try {
    SafetensorsHeader header = read_safetensors_header(map_, map_size_, path);
    data_ = map_ + header.data_start;
    entries_ = std::move(header.entries);
    metadata_ = std::move(header.metadata);
  } catch (...) {
    ::munmap(m, map_size_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

const SafetensorsFile::Entry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  TANDEM_CHECK(it != entries_.end(), path_, ": no tensor named ", name);
  return it->second;
}

Tensor SafetensorsFile::load(const std::string& name) const {
  const Entry& e = entry(name);
  Tensor t(name, e.shape);
  const uint8_t* src = data_ + e.begin;
  const int64_t n = t.numel();
  float* dst = t.ptr();
  switch (e.dtype) {
    case Dtype::F32:
      if (n > 0) std::memcpy(dst, src, n * 4);  // an empty tensor has no buffer: dst is null
      break;
    case Dtype::F64:
      for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      break;
    case Dtype::BF16:
    case Dtype::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, src + 2 * i, 2);
        dst[i] = e.dtype == Dtype::BF16 ? to_float(bf16{v}) : f16_to_float(v);
      }
      break;
    default: fail(path_, ": tensor ", name, " has dtype ", dtype_name(e.dtype), ", expected a float type");
  }
  check_finite(dst, n, path_, name);
  return t;
}

std::vector<int32_t> SafetensorsFile::load_ints(const std::string& name) const {
  const Entry& e = entry(name);
  const int64_t n = shape_numel(e.shape);
  std::vector<int32_t> out(n);
  const uint8_t* src = data_ + e.begin;
  for (int64_t i = 0; i < n; ++i) {
    switch (e.dtype) {
      case Dtype::I64: {
        int64_t v;
        std::memcpy(&v, src + 8 * i, 8);
        TANDEM_CHECK(v >= INT32_MIN && v <= INT32_MAX, path_, ": tensor ", name, " holds ", v, " at index ", i,
                     ", outside int32");
        out[i] = static_cast<int32_t>(v);
        break;
      }
      case Dtype::I32: std::memcpy(&out[i], src + 4 * i, 4); break;
      case Dtype::U8: case Dtype::BOOL: out[i] = src[i]; break;
      default: fail(path_, ": tensor ", name, " has dtype ", dtype_name(e.dtype), ", expected an integer type");
    }
  }
  return out;
}

void save_safetensors(const std::string& path, const std::vector<const Tensor*>& tensors,
                      const std::map<std::string, std::string>& metadata, bool bf16) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  int64_t offset = 0;
  const int64_t elem = bf16 ? 2 : 4;
  for (const Tensor* t : tensors) {
    TANDEM_CHECK(!header.contains(t->name), "save_safetensors: duplicate tensor name ", t->name);
    header[t->name] = {{"dtype", bf16 ? "BF16" : "F32"},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->numel() * elem}}};
    offset += t->numel() * elem;
  }
  std::string head = header.dump();
  head.append((8 - head.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  std::string out(8 + head.size() + offset, '\0');
  const uint64_t len = head.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, head.data(), head.size());
  char* dst = out.data() + 8 + head.size();
  for (const Tensor* t : tensors) {
    if (bf16) {
      for (float v : t->to_floats()) {
        const uint16_t b = to_bf16(v).bits;
        std::memcpy(dst, &b, 2);
        dst += 2;
      }
    } else {
      const std::vector<float> values = t->to_floats();  // device tensors are downloaded
      if (!values.empty()) std::memcpy(dst, values.data(), values.size() * 4);
      dst += t->numel() * 4;
    }
  }
  write_file_atomic(path, out);
}

}  // namespace tandem
