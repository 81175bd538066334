// The text a tokenizer learns from: lines of plain-text files, or one field of each line of JSONL files. A JSONL
// file read as plain text would teach the tokenizer JSON syntax, so it is refused unless a field is named.
#pragma once
#include <string>
#include <vector>

namespace tandem {

// Every line of every file (with its "\n"), or with `text_field` set, that string field of each JSON line (with a
// "\n", so a JSONL file teaches what a text file of the same lines teaches; a
// missing or non-string field is an error naming file:line). A file that is JSONL (a .jsonl name, or a first line
// that parses as a JSON object) without `text_field`, or a JSON array file, is an error naming the file.
std::vector<std::string> tokenizer_training_texts(const std::vector<std::string>& files, const std::string& text_field);

// A file whose first non-blank character is '[' where JSONL is expected: the error for it (names the file).
[[noreturn]] void fail_json_array_not_jsonl(const std::string& path);

}  // namespace tandem
