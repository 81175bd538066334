// lm-evaluation-harness's HFLM._encode_pair computed with the Hugging Face tokenizers library (Rust, via
// @anush008/tokenizers), the reference for tests/test_multiple_choice.cpp's text path:
//   n_spaces = len(context) - len(context.rstrip()); the context's trailing whitespace moves to the continuation;
//   whole_enc = tok_encode(context + continuation); context_enc = tok_encode(context);
//   continuation_enc = whole_enc[len(context_enc):]
// tok_encode is encode(string, add_special_tokens=False) by default (HFLM's add_bos_token=False), and True with it.
// usage: node mc_encode_pair.mjs TOKENIZER_JSON PAIRS_JSON OUT_JSON
// PAIRS_JSON: [[context, continuation], ...]; OUT_JSON: {"plain": [{"context": [...], "continuation": [...]}, ...],
// "special": [...]} (without and with special tokens).
import { Tokenizer } from "@anush008/tokenizers";
import { readFileSync, writeFileSync } from "node:fs";

const [tokenizerPath, pairsPath, outPath] = process.argv.slice(2);
const tokenizer = Tokenizer.fromFile(tokenizerPath);
const pairs = JSON.parse(readFileSync(pairsPath, "utf8"));

async function encodePair(context, continuation, addSpecialTokens) {
  // Python's rstrip(): the characters str.isspace() accepts (JavaScript's \s differs at U+001C..U+001F, U+FEFF).
  const kept = context.replace(/[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u, "");
  continuation = context.slice(kept.length) + continuation;
  context = kept;
  const encode = async (s) => Array.from((await tokenizer.encode(s, null, { addSpecialTokens })).getIds());
  const whole = await encode(context + continuation);
  const ctx = await encode(context);
  return { context: ctx, continuation: whole.slice(ctx.length) };
}

const out = { plain: [], special: [] };
for (const [context, continuation] of pairs) {
  out.plain.push(await encodePair(context, continuation, false));
  out.special.push(await encodePair(context, continuation, true));
}
writeFileSync(outPath, JSON.stringify(out));
