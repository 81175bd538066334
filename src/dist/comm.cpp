#include "dist/comm.h"

#include <cstdlib>
#include <cstring>

namespace tandem {

namespace {

class SingleComm : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend_name() const override { return "single"; }
  void allreduce_sum(double*, int64_t) override {}
  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(int64_t*, int64_t) override {}
  void broadcast(void*, int64_t, int) override {}
  void allgatherv(const void* send, void* recv, const std::vector<int64_t>& counts,
                  const std::vector<int64_t>& displs) override {
    copy_own(send, recv, counts, displs);
  }
  void gatherv(const void* send, void* recv, const std::vector<int64_t>& counts, const std::vector<int64_t>& displs,
               int) override {
    copy_own(send, recv, counts, displs);
  }
  void barrier() override {}
  void start_allreduce_sum(float*, int64_t) override {}
  void progress() override {}
  void wait_all() override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }

 private:
  static void copy_own(const void* send, void* recv, const std::vector<int64_t>& counts,
                       const std::vector<int64_t>& displs) {
    char* dst = static_cast<char*>(recv) + displs.at(0);
    if (counts.at(0) > 0 && dst != send) std::memmove(dst, send, size_t(counts[0]));
  }
};

std::unique_ptr<Comm>& world_slot() {
  static std::unique_ptr<Comm> w = make_single_comm();
  return w;
}

template <typename T>
std::vector<T> concat(Comm& c, const std::vector<T>& mine) {
  std::vector<int64_t> sizes(size_t(c.size()), 0);
  sizes[size_t(c.rank())] = int64_t(mine.size());
  c.allreduce_sum(sizes.data(), int64_t(sizes.size()));
  std::vector<int64_t> counts, displs;
  int64_t total = 0;
  for (int64_t s : sizes) {
    counts.push_back(s * int64_t(sizeof(T)));
    displs.push_back(total * int64_t(sizeof(T)));
    total += s;
  }
  std::vector<T> all(static_cast<size_t>(total));
  c.allgatherv(mine.data(), all.data(), counts, displs);
  return all;
}

}  // namespace

std::unique_ptr<Comm> make_single_comm() { return std::make_unique<SingleComm>(); }

Comm& world() { return *world_slot(); }
void set_world(std::unique_ptr<Comm> comm) { world_slot() = std::move(comm); }

bool launched_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

double sum_over_ranks(Comm& c, double v) {
  c.allreduce_sum(&v, 1);
  return v;
}

int64_t sum_over_ranks(Comm& c, int64_t v) {
  c.allreduce_sum(&v, 1);
  return v;
}

std::string broadcast_string(Comm& c, const std::string& s, int root) {
  int64_t n = int64_t(s.size());
  c.broadcast(&n, sizeof n, root);
  std::string out = c.rank() == root ? s : std::string(size_t(n), '\0');
  c.broadcast(out.data(), n, root);
  return out;
}

std::vector<std::string> allgather_strings(Comm& c, const std::string& mine) {
  const std::vector<int64_t> sizes = concat(c, std::vector<int64_t>{int64_t(mine.size())});
  const std::vector<char> bytes = concat(c, std::vector<char>(mine.begin(), mine.end()));
  std::vector<std::string> out;
  size_t at = 0;
  for (int64_t s : sizes) {
    out.emplace_back(bytes.begin() + std::ptrdiff_t(at), bytes.begin() + std::ptrdiff_t(at + size_t(s)));
    at += size_t(s);
  }
  return out;
}

std::vector<double> allgather_concat(Comm& c, const std::vector<double>& mine) { return concat(c, mine); }
std::vector<int64_t> allgather_concat(Comm& c, const std::vector<int64_t>& mine) { return concat(c, mine); }

}  // namespace tandem
