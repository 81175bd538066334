// A reader for the WordNet 3.0 database files Debian's wordnet-base ships (/usr/share/wordnet): the adjectives with
// their antonyms, synonyms, glosses and usage counts, for the natural-language testbed (data/words_testbed.h).
// Format: wndb(5WN) and cntlist(5WN). Only single-word, lowercase a-z entries are kept (no "ice-cold", no
// "well_known"), since the testbed's answers are one word.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

struct WordNetAdjective {
  std::string word;
  std::vector<std::string> antonyms;  // direct antonyms ("!" pointers from this word), most used first
  std::vector<std::string> synonyms;  // in the senses that have an antonym: the head synset's other words, then
                                      // its similar-to ("&") satellites', each most used first; never the word
                                      // itself nor one of its antonyms
  std::vector<std::string> glosses;   // those head synsets' glosses: the definition, then examples in quotes
  int64_t tag_count = 0;              // cntlist.rev: semantically tagged occurrences over the word's adjective senses
};

// Every adjective with at least one antonym and one synonym, most used first (ties by word), read from
// `dir`/data.adj and `dir`/cntlist.rev. A missing file or a malformed line is an error naming file:line.
std::vector<WordNetAdjective> read_wordnet_adjectives(const std::string& dir = "/usr/share/wordnet");

}  // namespace tandem
