"""litcomp.competitions.words: what a word is, in every script a writer may use."""

import time

import pytest

from litcomp.competitions.words import word_count


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # nothing
        ("", 0),
        (" ", 0),
        ("\n\t \u00a0\u2003\r\n", 0),
        ("... !? \u2014 \u2013 ; : ( ) [ ] { } / \\ | @ & % $ €", 0),
        # plain words and punctuation
        ("word", 1),
        ("Two words.", 2),
        ("Hello,world!", 2),
        ("one\ntwo\tthree\u00a0four", 4),
        ("«Bonjour», dit-il.", 2),
        ("“Quoted”, she said.", 3),
        ("Wait... what?!", 2),
        ("(parenthesis)", 1),
        ("a/b", 2),
        # apostrophes
        ("don't", 1),
        ("don\u2019t", 1),
        ("rock 'n' roll", 3),
        ("'quoted'", 1),
        ("the writers' room", 3),
        ("O'Brien's", 1),
        ("don''t", 2),
        # hyphens and dashes
        ("well-known", 1),
        ("well\u2010known", 1),  # HYPHEN
        ("well\u2011known", 1),  # NON-BREAKING HYPHEN
        ("mother-in-law", 1),
        ("e—m", 2),  # an em dash splits
        ("e\u2013n", 2),  # so does an en dash
        ("x--y", 2),
        ("x---y", 2),
        ("word - word", 2),
        ("-dangling- ", 1),
        ("2-1", 1),
        # numbers
        ("42", 1),
        ("3.14", 2),
        ("1,000", 2),
        ("the 1990s", 2),
        ("²½①", 1),
        ("Ⅻ chapters", 2),
        # underscores are not letters
        ("snake_case", 2),
        ("___", 0),
        # combining marks stay inside their word
        ("café", 1),
        ("cafe\u0301 au lait", 3),
        ("re\u0301sume\u0301 nai\u0308ve", 2),
        ("Z\u0351\u036b\u0343a\u0352\u0310lgo", 1),  # "zalgo" text
        ("\u0301 alone", 1),  # a mark with no letter is no word
        ("e\u0301's", 1),
        # other scripts
        ("Съешь же ещё этих мягких французских булок", 7),
        ("Ὁ βίος βραχύς", 3),
        ("हिन्दी भाषा", 2),  # vowel signs and virama are marks
        ("مرحبا بالعالم", 2),
        ("שלום עולם", 2),
        ("한국어 문장입니다", 2),  # Hangul: spaces between words
        # bold mathematical letters, outside the Basic Multilingual Plane
        ("\U0001d401\U0001d428\U0001d425\U0001d41d math letters", 3),
        # a word per ideograph or kana, as word processors count them
        ("漢字", 2),
        ("東京に行きます", 7),
        ("カタカナ", 4),
        ("ｶﾀｶﾅ", 4),  # halfwidth
        ("々〇", 2),
        ("𠀋𪚲", 2),  # supplementary ideographs (planes 2 and 3)
        ("Tokyo東京", 3),
        ("東-京", 2),  # a hyphen joins letters, not ideographs
        ("「こんにちは」", 5),
        # emoji, symbols and private use are not words
        ("I ❤️ you", 2),
        ("👍🏽👨‍👩‍👧", 0),
        ("good👍morning", 2),
        ("a\U000f0000b", 2),
        ("© ™ ° ± ∞", 0),
        # Markdown markup never counts
        ("# Heading", 1),
        ("> quoted line", 2),
        ("*italics* and **bold** and _under_ and __more__", 7),
        ("- item\n- item\n* item\n1. item", 5),
        ("***\n---\n___", 0),
        ("`code` here", 2),
        ("> > > deep", 1),
    ],
)
def test_words(text: str, words: int) -> None:
    assert word_count(text) == words


def test_the_longest_entry_is_counted_quickly() -> None:
    """An entry reaches 200,000 characters; counting one must not hold up a request
    (a few milliseconds on a developer's machine; the bound leaves room for a busy CI)."""
    stories = {
        "prose": "The night train's lamps, well-known to everyone, went by — again. " * 3100,
        "cyrillic": "Стоял тихий вечер, и никто не вышел на перрон. " * 4300,
        "ideographs": "夜の列車が静かに通り過ぎた。" * 14300,
    }
    word_count("")  # the table is made on first use
    for name, story in stories.items():
        text = story[:200_000]
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            word_count(text)
            timings.append(time.perf_counter() - start)
        assert min(timings) < 0.05, f"{name}: {min(timings) * 1000:.1f} ms"
