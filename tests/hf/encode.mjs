// Reference token ids and decodings from the Hugging Face tokenizers library (Rust, via @anush008/tokenizers).
// usage: node encode.mjs TOKENIZER_JSON CORPUS_JSON OUT_JSON [BENCH_TEXT_FILE]
// CORPUS_JSON is an array of strings; OUT_JSON gets {"ids": [[...], ...], "with_special": [[...], ...],
// "decoded": [...], "decoded_skip_special": [...], "decoded_reversed": [...],
// "bench": {"bytes": N, "seconds": S, "tokens": T}} (best of 3 passes over 200-line chunks).
// The decodings are of the with_special ids (skip_special_tokens false / true) and of those ids reversed, which
// splits multi-byte characters across byte-fallback tokens and moves word-initial pieces to the front.
import { Tokenizer } from "@anush008/tokenizers";
import { readFileSync, writeFileSync } from "node:fs";

const [tokenizerPath, corpusPath, outPath, benchPath] = process.argv.slice(2);
const tokenizer = Tokenizer.fromFile(tokenizerPath);
const corpus = JSON.parse(readFileSync(corpusPath, "utf8"));
const ids = [], withSpecial = [], decoded = [], decodedSkip = [], decodedReversed = [];
for (const text of corpus) {
  ids.push(Array.from((await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds()));
  const special = Array.from((await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds());
  withSpecial.push(special);
  decoded.push(await tokenizer.decode(special, false));
  decodedSkip.push(await tokenizer.decode(special, true));
  decodedReversed.push(await tokenizer.decode([...special].reverse(), false));
}
const out = { ids, with_special: withSpecial, decoded, decoded_skip_special: decodedSkip,
              decoded_reversed: decodedReversed };
if (benchPath) {
  // Chunks of 200 lines, so the per-call cost of the node binding (an async call each) is negligible.
  const lines = readFileSync(benchPath, "utf8").split("\n");
  const chunks = [];
  for (let i = 0; i < lines.length; i += 200) chunks.push(lines.slice(i, i + 200).join("\n"));
  let best = Infinity, tokens = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = process.hrtime.bigint();
    tokens = 0;
    for (const c of chunks) tokens += (await tokenizer.encode(c, null, { addSpecialTokens: false })).getIds().length;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  out.bench = { bytes: Buffer.byteLength(lines.join("\n")), seconds: best, tokens };
}
writeFileSync(outPath, JSON.stringify(out));
