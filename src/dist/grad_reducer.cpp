#include "dist/grad_reducer.h"

#include <algorithm>
#include <chrono>
#include <regex>

namespace tandem {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Span {
  char *begin, *end;
  int64_t ready;
};

}  // namespace

int64_t event_order(int64_t event, int64_t layers) {
  if (event == -1) return 0;          // DecoderModel::kHeadDone
  if (event == -2) return layers + 1;  // DecoderModel::kBackwardDone
  return 1 + (layers - 1 - event);
}

int64_t backward_order(const std::string& name, bool is_output_head, int64_t layers) {
  if (is_output_head) return 0;
  static const std::regex layer_index(R"((^|\.)(layers|h)\.(\d+)\.)");
  std::smatch m;
  if (std::regex_search(name, m, layer_index)) return event_order(std::stoll(m[3].str()), layers);
  return layers + 1;
}

std::vector<GradSlot> gradient_slots(const std::vector<ParamRef>& params, const Tensor* untied_head, int64_t layers) {
  std::vector<GradSlot> slots;
  for (const ParamRef& p : params)  // the untied head's gradient is final right after the LM head
    slots.push_back({p.grad, backward_order(p.value->name, untied_head && p.value == untied_head, layers)});
  return slots;
}

GradReducer::GradReducer(Comm& comm, const std::vector<GradSlot>& slots, int64_t bucket_cap_bytes) : comm_(comm) {
  TANDEM_CHECK(bucket_cap_bytes > 0, "ddp_bucket_cap_mb must be > 0");
  std::vector<Span> spans;
  for (const GradSlot& s : slots) {
    s.grad->expect_dtype(DType::kF32);
    char* p = static_cast<char*>(s.grad->raw());
    spans.push_back({p, p + s.grad->bytes(), s.order});
  }
  // Address order, with overlapping views (fused projections) merged, so every byte is summed exactly once. Small
  // alignment gaps between neighbours are zeroed gradient storage: summing them is harmless and keeps one range.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  constexpr int64_t kMaxGap = 256;
  std::vector<Bucket> runs;
  char *run_begin = nullptr, *run_end = nullptr;
  int64_t run_ready = 0;
  auto close = [&] {
    if (run_begin && run_end > run_begin)
      runs.push_back({reinterpret_cast<float*>(run_begin), int64_t(run_end - run_begin) / 4, run_ready});
    run_begin = run_end = nullptr;
  };
  for (const Span& s : spans) {
    const bool joins = run_begin && s.begin <= run_end + kMaxGap &&
                       (s.begin < run_end || std::max(run_end, s.end) - run_begin <= bucket_cap_bytes);
    if (!joins) {
      close();
      run_begin = s.begin, run_end = s.end, run_ready = s.ready;
      continue;
    }
    run_end = std::max(run_end, s.end);
    run_ready = std::max(run_ready, s.ready);
  }
  close();
  // A run longer than the cap (one tensor bigger than it: the embedding) is cut into cap-sized buckets. Besides
  // pipelining better, that keeps each sum's temporary buffer in MPI small: above 32 MiB glibc maps fresh pages for
  // every call, and touching them made 64 MiB sums 10x slower here (README, Scaling model).
  std::vector<Bucket> cut;
  const int64_t cap_floats = std::max<int64_t>(bucket_cap_bytes / 4, 1);
  for (const Bucket& r : runs)
    for (int64_t at = 0; at < r.floats; at += cap_floats)
      cut.push_back({r.data + at, std::min(cap_floats, r.floats - at), r.ready});
  runs = std::move(cut);
  // Started in the order the backward pass completes them (ties: by address), the same on every rank.
  std::stable_sort(runs.begin(), runs.end(), [](const Bucket& a, const Bucket& b) { return a.ready < b.ready; });
  buckets_ = std::move(runs);
}

int64_t GradReducer::bytes() const {
  int64_t b = 0;
  for (const Bucket& k : buckets_) b += k.floats * 4;
  return b;
}

void GradReducer::on_event(int64_t order) {
  const double t0 = now();
  if (started_ == 0) seconds_ = wait_seconds_ = 0;
  while (started_ < buckets_.size() && buckets_[started_].ready <= order) {
    comm_.start_allreduce_sum(buckets_[started_].data, buckets_[started_].floats);
    ++started_;
  }
  comm_.progress();
  seconds_ += now() - t0;
}

std::vector<GradReducer::Range> GradReducer::ranges() const {
  std::vector<Range> out;
  for (const Bucket& b : buckets_) {
    const char* begin = reinterpret_cast<const char*>(b.data);
    out.push_back({begin, begin + b.floats * 4, b.ready});
  }
  return out;
}

void GradReducer::finish() {
  if (started_ == 0) seconds_ = wait_seconds_ = 0;
  early_ = int64_t(started_);
  const double t0 = now();
  for (; started_ < buckets_.size(); ++started_)
    comm_.start_allreduce_sum(buckets_[started_].data, buckets_[started_].floats);
  const double t1 = now();
  comm_.wait_all();
  const double t2 = now();
  wait_seconds_ = t2 - t1;
  seconds_ += t2 - t0;
  started_ = 0;
}

}  // namespace tandem
