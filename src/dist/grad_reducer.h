// Sums the gradients of every rank while the backward pass still runs (PyTorch DDP's bucketed reducer): the
// gradient storage is cut into buckets, contiguous byte ranges of at most ddp_bucket_cap_mb (a tensor larger than
// that spans several), and a bucket's sum
// starts as soon as the backward pass has finished every gradient in it. Buckets are reduced in place, with no
// copies, and every rank cuts and starts them in the same order (same layout, same backward).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "dist/comm.h"

namespace tandem {

// When a gradient is final during the backward pass: `order` counts the backward's progress events
// (DecoderModel::set_backward_progress): 0 after the LM head, 1 + (layers - 1 - l) after layer l, layers + 1 at
// the end.
struct GradSlot {
  Tensor* grad;
  int64_t order;
};

// The event order of a parameter from its checkpoint name: "...layers.<l>..." is layer l's, the untied output
// matrix (`is_output_head`) the LM head's, anything else (embeddings, final norm) the end's.
int64_t backward_order(const std::string& name, bool is_output_head, int64_t layers);
// The event order of a DecoderModel progress event (kHeadDone, a layer, kBackwardDone).
int64_t event_order(int64_t event, int64_t layers);
// Every parameter's gradient with its event order; `untied_head` is the untied output matrix (null when tied).
std::vector<GradSlot> gradient_slots(const std::vector<ParamRef>& params, const Tensor* untied_head, int64_t layers);

class GradReducer {
 public:
  GradReducer(Comm& comm, const std::vector<GradSlot>& slots, int64_t bucket_cap_bytes);

  // The backward pass reached event `order`: start every bucket it completed, and let started ones progress.
  void on_event(int64_t order);
  // Starts what is left and waits for every sum; the gradients then hold the sum over ranks.
  void finish();

  // The buckets, for tests: [begin, end) byte ranges in start order, and the event each waits for.
  struct Range {
    const char *begin, *end;
    int64_t ready;
  };
  std::vector<Range> ranges() const;

  int64_t buckets() const { return int64_t(buckets_.size()); }
  int64_t started_during_backward() const { return early_; }  // of the last step's buckets
  int64_t bytes() const;                               // reduced per step
  double seconds() const { return seconds_; }          // spent in this step's reduction calls (starts + wait)
  double wait_seconds() const { return wait_seconds_; } // of which waiting in finish(): what the overlap left exposed

 private:
  struct Bucket {
    float* data;
    int64_t floats;
    int64_t ready;  // the event after which all its gradients are final
  };
  Comm& comm_;
  std::vector<Bucket> buckets_;  // in start order
  size_t started_ = 0;
  int64_t early_ = 0;
  double seconds_ = 0, wait_seconds_ = 0;
};

}  // namespace tandem
