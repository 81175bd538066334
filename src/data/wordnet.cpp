#include "data/wordnet.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/check.h"

namespace tandem {

namespace {

struct Pointer {
  std::string symbol;
  std::string target;  // synset offset
  int source_word = 0, target_word = 0;  // 1-based; 0 = the whole synset (a semantic pointer)
};

struct Synset {
  char type = 'a';  // 'a' head synset, 's' satellite
  std::vector<std::string> words;
  std::vector<Pointer> pointers;
  std::string gloss;
};

bool single_plain_word(const std::string& w) {
  return w.size() >= 2 && std::all_of(w.begin(), w.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// "ready_to_hand(p)" -> "ready_to_hand": adjectives may carry a syntactic marker (wndb(5WN)).
std::string lemma(std::string w) {
  if (const size_t paren = w.find('('); paren != std::string::npos) w.resize(paren);
  std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return w;
}

std::map<std::string, Synset> read_synsets(const std::string& path) {
  std::ifstream in(path);
  TANDEM_CHECK(in, path, ": cannot open (Debian package wordnet-base)");
  std::map<std::string, Synset> synsets;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == ' ') continue;  // the licence header
    const std::string where = path + ":" + std::to_string(n);
    const size_t bar = line.find(" | ");
    TANDEM_CHECK(bar != std::string::npos, where, ": no gloss (\" | \")");
    std::istringstream fields(line.substr(0, bar));
    std::string offset, lex_file, type, count;
    fields >> offset >> lex_file >> type >> count;
    TANDEM_CHECK(fields && (type == "a" || type == "s"), where, ": expected an adjective synset");
    Synset s;
    s.type = type[0];
    const int words = std::stoi(count, nullptr, 16);
    for (int i = 0; i < words; ++i) {
      std::string w, lex_id;
      fields >> w >> lex_id;
      s.words.push_back(lemma(w));
    }
    int pointers = 0;
    fields >> pointers;
    for (int i = 0; i < pointers; ++i) {
      Pointer p;
      std::string pos, source_target;
      fields >> p.symbol >> p.target >> pos >> source_target;
      TANDEM_CHECK(fields && source_target.size() == 4, where, ": malformed pointer ", i + 1);
      p.source_word = std::stoi(source_target.substr(0, 2), nullptr, 16);
      p.target_word = std::stoi(source_target.substr(2, 2), nullptr, 16);
      if (pos == "a" || pos == "s") s.pointers.push_back(p);
    }
    s.gloss = line.substr(bar + 3);
    while (!s.gloss.empty() && s.gloss.back() == ' ') s.gloss.pop_back();
    synsets[offset] = std::move(s);
  }
  TANDEM_CHECK(!synsets.empty(), path, ": no synsets");
  return synsets;
}

// Tagged occurrences per lemma over adjective senses (ss_type 3 head, 5 satellite).
std::unordered_map<std::string, int64_t> read_tag_counts(const std::string& path) {
  std::ifstream in(path);
  TANDEM_CHECK(in, path, ": cannot open (Debian package wordnet-base)");
  std::unordered_map<std::string, int64_t> counts;
  std::string key;
  int64_t sense = 0, tags = 0;
  while (in >> key >> sense >> tags) {
    const size_t pct = key.find('%');
    if (pct == std::string::npos || pct + 1 >= key.size()) continue;
    if (key[pct + 1] == '3' || key[pct + 1] == '5') counts[key.substr(0, pct)] += tags;
  }
  return counts;
}

std::vector<std::string> by_use(const std::set<std::string>& words,
                                const std::unordered_map<std::string, int64_t>& counts) {
  std::vector<std::string> v(words.begin(), words.end());
  auto count = [&](const std::string& w) { auto it = counts.find(w); return it == counts.end() ? 0 : it->second; };
  std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) { return count(a) > count(b); });
  return v;
}

}  // namespace

std::vector<WordNetAdjective> read_wordnet_adjectives(const std::string& dir) {
  const std::map<std::string, Synset> synsets = read_synsets(dir + "/data.adj");
  const std::unordered_map<std::string, int64_t> counts = read_tag_counts(dir + "/cntlist.rev");
  struct Relations {
    std::set<std::string> antonyms, close, similar;  // close: same synset; similar: its satellites
    std::vector<std::string> glosses;
  };
  std::map<std::string, Relations> relations;
  for (const auto& [offset, s] : synsets) {
    if (s.type != 'a') continue;
    for (size_t i = 0; i < s.words.size(); ++i) {
      const std::string& w = s.words[i];
      if (!single_plain_word(w)) continue;
      // Only the senses in which the word has an antonym: there "another word" and "the opposite" are both clear.
      std::set<std::string> antonyms, close, similar;
      for (const Pointer& p : s.pointers) {
        const auto target = synsets.find(p.target);
        TANDEM_CHECK(target != synsets.end(), dir, "/data.adj: synset ", offset, " points to missing ", p.target);
        const std::vector<std::string>& tw = target->second.words;
        if (p.symbol == "!" && (p.source_word == 0 || p.source_word == int(i) + 1)) {
          for (size_t j = 0; j < tw.size(); ++j)
            if (p.target_word == 0 || p.target_word == int(j) + 1) antonyms.insert(tw[j]);
        } else if (p.symbol == "&" && target->second.type == 's') {
          similar.insert(tw.begin(), tw.end());
        }
      }
      if (antonyms.empty()) continue;
      for (size_t j = 0; j < s.words.size(); ++j)
        if (j != i) close.insert(s.words[j]);
      Relations& r = relations[w];
      r.glosses.push_back(s.gloss);
      r.antonyms.insert(antonyms.begin(), antonyms.end());
      r.close.insert(close.begin(), close.end());
      r.similar.insert(similar.begin(), similar.end());
    }
  }
  std::vector<WordNetAdjective> out;
  for (auto& entry : relations) {
    const std::string& word = entry.first;  // not a structured binding: clang's lambdas cannot capture those
    const Relations& r = entry.second;
    std::set<std::string> antonyms, close, similar;
    for (const auto& a : r.antonyms)
      if (single_plain_word(a) && a != word) antonyms.insert(a);
    auto keep = [&](const std::string& s) { return single_plain_word(s) && s != word && !antonyms.count(s); };
    for (const auto& s : r.close)
      if (keep(s)) close.insert(s);
    for (const auto& s : r.similar)
      if (keep(s) && !close.count(s)) similar.insert(s);
    if (antonyms.empty() || close.size() + similar.size() == 0) continue;
    std::vector<std::string> synonyms = by_use(close, counts);  // the same synset first: the nearest synonyms
    for (const auto& s : by_use(similar, counts)) synonyms.push_back(s);
    const auto c = counts.find(word);
    out.push_back({word, by_use(antonyms, counts), synonyms, r.glosses, c == counts.end() ? 0 : c->second});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.tag_count > b.tag_count; });
  return out;
}

}  // namespace tandem
