// How many words a text has, counted as the server counts them
// (litcomp/competitions/words.py, whose docstring says what a word is), so the live
// counter under the entry form agrees with the limit the server enforces.

// Letters that are a word each (Han, kana), and planes 2 and 3 (ideographs).
const ONE_WORD_EACH =
  /(?:(?=[\p{L}\p{N}])[\u3000-\u303F\u3040-\u30FF\u31F0-\u31FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uFF66-\uFF9F\u{1B000}-\u{1B16F}])|[\u{20000}-\u{3FFFF}]/gu;

export function wordCount(text) {
  const unmarked = text.replace(/\p{M}/gu, ""); // marks never split a word
  let ideographs = 0;
  const kinds = unmarked
    .replace(ONE_WORD_EACH, () => {
      ideographs += 1;
      return " ";
    })
    .replace(/['\u2019\-\u2010\u2011]/g, "'")
    .replace(/[\p{L}\p{N}]/gu, "a")
    .replace(/[^a']/gu, " ");
  // Two joiners together join nothing; a joiner standing alone is no word.
  const tokens = kinds.replace(/''/g, " ").split(" ").filter(Boolean);
  return ideographs + tokens.length - tokens.filter((token) => token === "'").length;
}

/** "100–3,000 words", "up to 500 words", or null without limits. */
export function wordLimits({ word_min: low, word_max: high }) {
  const n = (count) => count.toLocaleString();
  if (low && high) return `${n(low)}–${n(high)} words`;
  if (high) return `Up to ${n(high)} words`;
  return low ? `At least ${n(low)} words` : null;
}
