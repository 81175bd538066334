#include "objectives/objectives.h"

#include <cmath>

#include "core/check.h"

namespace tandem {

namespace {

double log_sigmoid(double x) { return x < 0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x)); }
double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

// Checks the pairs and returns a result with zeroed gradients of their size.
PreferenceLoss begin_loss(const PairLogps& p, const char* what) {
  const size_t n = p.size();
  TANDEM_CHECK(n > 0, what, ": empty batch of preference pairs");
  TANDEM_CHECK(p.rejected.size() == n && p.chosen_tokens.size() == n && p.rejected_tokens.size() == n, what,
               ": chosen/rejected log-probs and token counts differ in length");
  for (size_t i = 0; i < n; ++i)
    TANDEM_CHECK(p.chosen_tokens[i] > 0 && p.rejected_tokens[i] > 0, what, ": pair ", i,
                 " has an empty chosen or rejected response");
  PreferenceLoss out;
  out.d_chosen.assign(n, 0.0);
  out.d_rejected.assign(n, 0.0);
  return out;
}

// Loss -(1-eps) log sigmoid(z) - eps log sigmoid(-z) and its derivative in z.
void smoothed_sigmoid_loss(double z, double eps, double& loss, double& dz) {
  loss = -(1 - eps) * log_sigmoid(z) - eps * log_sigmoid(-z);
  dz = -(1 - eps) * sigmoid(-z) + eps * sigmoid(z);
}

void finish_rewards(PreferenceLoss& out, const std::vector<double>& rc, const std::vector<double>& rr) {
  const double n = double(rc.size());
  for (size_t i = 0; i < rc.size(); ++i) {
    out.chosen_reward += rc[i] / n;
    out.rejected_reward += rr[i] / n;
    out.reward_margin += (rc[i] - rr[i]) / n;
    out.reward_accuracy += (rc[i] > rr[i] ? 1.0 : 0.0) / n;
  }
}

}  // namespace

void PreferenceConfig::validate() const {
  TANDEM_CHECK(loss_type == "sigmoid" || loss_type == "ipo" || loss_type == "hinge" || loss_type == "simpo" ||
                   loss_type == "orpo",
               "loss_type: '", loss_type, "' is not one of sigmoid, ipo, hinge, simpo, orpo");
  TANDEM_CHECK(beta > 0, "beta must be > 0, got ", beta);
  TANDEM_CHECK(label_smoothing >= 0 && label_smoothing < 0.5, "label_smoothing must be in [0, 0.5), got ",
               label_smoothing);
  TANDEM_CHECK(rpo_alpha >= 0, "rpo_alpha must be >= 0, got ", rpo_alpha);
  // rpo_alpha is DPOConfig's: SimPO (CPOTrainer) has no such term, and ORPO's loss already holds the chosen NLL.
  TANDEM_CHECK(rpo_alpha == 0 || needs_reference(), "rpo_alpha applies to loss_type sigmoid, ipo or hinge, not ",
               loss_type);
}

SftLoss sft_loss(const std::vector<double>& logp, const std::vector<int64_t>& tokens) {
  TANDEM_CHECK(logp.size() == tokens.size() && !logp.empty(), "sft_loss: log-probs and token counts differ");
  int64_t total = 0;
  double sum = 0;
  for (size_t i = 0; i < logp.size(); ++i) {
    total += tokens[i];
    sum += logp[i];
  }
  TANDEM_CHECK(total > 0, "sft_loss: no scored tokens in the batch");
  return {-sum / double(total), std::vector<double>(logp.size(), -1.0 / double(total))};
}

PreferenceLoss dpo_loss(const PairLogps& policy, const PairLogps& reference, const PreferenceConfig& cfg) {
  PreferenceLoss out = begin_loss(policy, "dpo_loss");
  TANDEM_CHECK(reference.size() == policy.size(), "dpo_loss: ", reference.size(), " reference pairs for ",
               policy.size(), " policy pairs");
  const size_t n = policy.size();
  std::vector<double> rc(n), rr(n);
  for (size_t i = 0; i < n; ++i) {
    const double chosen_ratio = policy.chosen[i] - reference.chosen[i];
    const double rejected_ratio = policy.rejected[i] - reference.rejected[i];
    rc[i] = cfg.beta * chosen_ratio;
    rr[i] = cfg.beta * rejected_ratio;
    double loss = 0, dc = 0, dr = 0;
    if (cfg.loss_type == "sigmoid") {
      double dz = 0;
      smoothed_sigmoid_loss(cfg.beta * (chosen_ratio - rejected_ratio), cfg.label_smoothing, loss, dz);
      dc = dz * cfg.beta;
      dr = -dz * cfg.beta;
    } else if (cfg.loss_type == "hinge") {
      const double z = cfg.beta * (chosen_ratio - rejected_ratio);
      loss = std::max(0.0, 1.0 - z);
      const double dz = z < 1.0 ? -1.0 : 0.0;
      dc = dz * cfg.beta;
      dr = -dz * cfg.beta;
    } else if (cfg.loss_type == "ipo") {
      const double nc = double(policy.chosen_tokens[i]), nr = double(policy.rejected_tokens[i]);
      const double h = chosen_ratio / nc - rejected_ratio / nr;
      const double diff = h - 1.0 / (2.0 * cfg.beta);
      loss = diff * diff;
      dc = 2 * diff / nc;
      dr = -2 * diff / nr;
    } else {
      fail("dpo_loss: loss_type '", cfg.loss_type, "' is not a DPO variant (sigmoid, ipo, hinge)");
    }
    out.loss += loss / double(n);
    out.d_chosen[i] = dc / double(n);
    out.d_rejected[i] = dr / double(n);
  }
  finish_rewards(out, rc, rr);
  return out;
}

PreferenceLoss simpo_loss(const PairLogps& policy, const PreferenceConfig& cfg) {
  PreferenceLoss out = begin_loss(policy, "simpo_loss");
  const size_t n = policy.size();
  std::vector<double> rc(n), rr(n);
  for (size_t i = 0; i < n; ++i) {
    const double nc = double(policy.chosen_tokens[i]), nr = double(policy.rejected_tokens[i]);
    rc[i] = cfg.beta * policy.chosen[i] / nc;
    rr[i] = cfg.beta * policy.rejected[i] / nr;
    double loss = 0, dz = 0;
    smoothed_sigmoid_loss(rc[i] - rr[i] - cfg.simpo_gamma, cfg.label_smoothing, loss, dz);
    out.loss += loss / double(n);
    out.d_chosen[i] = dz * cfg.beta / nc / double(n);
    out.d_rejected[i] = -dz * cfg.beta / nr / double(n);
  }
  finish_rewards(out, rc, rr);
  return out;
}

PreferenceLoss orpo_loss(const PairLogps& policy, const PreferenceConfig& cfg) {
  PreferenceLoss out = begin_loss(policy, "orpo_loss");
  const size_t n = policy.size();
  std::vector<double> rc(n), rr(n);
  int64_t chosen_tokens = 0;
  double chosen_sum = 0;
  for (size_t i = 0; i < n; ++i) {
    chosen_tokens += policy.chosen_tokens[i];
    chosen_sum += policy.chosen[i];
  }
  out.loss = -chosen_sum / double(chosen_tokens);  // NLL of the chosen responses, token mean
  for (size_t i = 0; i < n; ++i) {
    const double nc = double(policy.chosen_tokens[i]), nr = double(policy.rejected_tokens[i]);
    // Mean token log-probs are < 0; clamp a hair below 0 so log(1 - p) stays finite.
    const double ac = std::min(policy.chosen[i] / nc, -1e-9), ar = std::min(policy.rejected[i] / nr, -1e-9);
    const double log_odds = (ac - ar) - (std::log(-std::expm1(ac)) - std::log(-std::expm1(ar)));
    out.loss -= cfg.beta * log_sigmoid(log_odds) / double(n);
    const double dlo = -cfg.beta * sigmoid(-log_odds) / double(n);
    // d log_odds / d a = 1 / (1 - e^a) for the chosen side, and its negative for the rejected side.
    out.d_chosen[i] = -1.0 / double(chosen_tokens) + dlo * (-1.0 / std::expm1(ac)) / nc;
    out.d_rejected[i] = dlo * (1.0 / std::expm1(ar)) / nr;
    rc[i] = cfg.beta * ac;
    rr[i] = cfg.beta * ar;
  }
  finish_rewards(out, rc, rr);
  return out;
}

// TRL computes nll_loss = F.cross_entropy(chosen logits, chosen labels) over the concatenated batch: the mean over
// every scored chosen token of the batch (a token mean, not a mean of per-sequence means), then adds
// rpo_alpha * nll_loss to each pair's loss before the batch mean, which leaves it added once.
void add_rpo_nll(PreferenceLoss& loss, const PairLogps& policy, double rpo_alpha) {
  int64_t chosen_tokens = 0;
  double chosen_sum = 0;
  for (size_t i = 0; i < policy.size(); ++i) {
    chosen_tokens += policy.chosen_tokens[i];
    chosen_sum += policy.chosen[i];
  }
  loss.loss += rpo_alpha * (-chosen_sum / double(chosen_tokens));
  for (double& d : loss.d_chosen) d -= rpo_alpha / double(chosen_tokens);
}

PreferenceLoss preference_loss(const PairLogps& policy, const PairLogps& reference, const PreferenceConfig& cfg) {
  if (cfg.loss_type == "simpo") return simpo_loss(policy, cfg);
  if (cfg.loss_type == "orpo") return orpo_loss(policy, cfg);
  PreferenceLoss out = dpo_loss(policy, reference, cfg);
  if (cfg.rpo_alpha > 0) add_rpo_nll(out, policy, cfg.rpo_alpha);  // skipped at 0: bit-identical to plain DPO
  return out;
}

}  // namespace tandem
