// Training objectives as pure functions of per-sequence summed log-probs. Each returns the batch loss (mean
// over examples) and its gradient with respect to every input log-prob, which DecoderModel::backward turns into
// parameter gradients. Formulas follow TRL (DPOTrainer, CPOTrainer for SimPO, ORPOTrainer).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

// Summed response log-probs and response token counts of a batch of preference pairs.
struct PairLogps {
  std::vector<double> chosen, rejected;
  std::vector<int64_t> chosen_tokens, rejected_tokens;
  size_t size() const { return chosen.size(); }
};

// SFT: token-mean negative log-likelihood over all scored tokens of the batch.
struct SftLoss {
  double loss = 0;
  std::vector<double> dlogp;  // dL/dlogp per sequence: -1 / total tokens
};
SftLoss sft_loss(const std::vector<double>& logp, const std::vector<int64_t>& tokens);

struct PreferenceConfig {
  std::string loss_type = "sigmoid";  // DPO: sigmoid | ipo | hinge; plus simpo, orpo
  double beta = 0.1;                  // DPO/IPO/hinge temperature; SimPO beta; ORPO lambda
  double label_smoothing = 0.0;       // conservative DPO / SimPO
  double simpo_gamma = 0.5;           // SimPO target margin
  double rpo_alpha = 0.0;             // DPO family: + rpo_alpha x NLL of the chosen responses (RPO; 0: off)
  void validate() const;
  bool needs_reference() const { return loss_type == "sigmoid" || loss_type == "ipo" || loss_type == "hinge"; }
};

struct PreferenceLoss {
  double loss = 0;
  std::vector<double> d_chosen, d_rejected;  // dL / d(policy summed logp)
  // Implicit rewards (DPO: beta * (policy - reference) log-ratio; SimPO/ORPO: beta * mean token log-prob).
  double chosen_reward = 0, rejected_reward = 0, reward_margin = 0, reward_accuracy = 0;
};

// DPO family (sigmoid, ipo, hinge); `reference` holds the frozen reference model's log-probs.
// IPO uses length-averaged log-probs, as TRL does.
PreferenceLoss dpo_loss(const PairLogps& policy, const PairLogps& reference, const PreferenceConfig& cfg);
// SimPO: -log sigmoid(beta * (mean logp chosen - mean logp rejected) - gamma); no reference model.
PreferenceLoss simpo_loss(const PairLogps& policy, const PreferenceConfig& cfg);
// ORPO: NLL of the chosen responses - beta * mean log sigmoid(log odds ratio); no reference model.
PreferenceLoss orpo_loss(const PairLogps& policy, const PreferenceConfig& cfg);
// TRL's rpo_alpha term (DPOTrainer): rpo_alpha x the token-mean NLL of the batch's chosen responses, added to `loss`
// with its gradient (-rpo_alpha / all chosen tokens, for every chosen log-prob).
void add_rpo_nll(PreferenceLoss& loss, const PairLogps& policy, double rpo_alpha);
// Dispatches on cfg.loss_type, adding the RPO term when rpo_alpha > 0; `reference` is ignored by simpo and orpo.
PreferenceLoss preference_loss(const PairLogps& policy, const PairLogps& reference, const PreferenceConfig& cfg);

}  // namespace tandem
