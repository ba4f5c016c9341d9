"""How text is compared ignoring case: one function, run in Python, for names and search.

Databases fold case their own way (SQLite's LIKE and lower() know A-Z only; PostgreSQL's
LOWER follows the database's collation, so `LOWER('İ')` is `i` under C.UTF-8, and `I`
lowers to a dotless i under a Turkish one), and none agrees with Python on every letter.
So the database is never asked to fold: names are stored folded in the name index
(RegisteredName), searchable text is stored folded in `AIModel.search_text`, and a
query is folded by this same function before it is compared with them.
"""

import sys
import unicodedata

# Combining marks (accents, the dot of "İ"): dropped, so that a search ignores them, and so
# that folding a piece of a text gives a piece of the folded text (Unicode reorders a
# run of marks, which would otherwise split differently from the text around it).
_MARKS_AND_DOTLESS_I = {
    code: None for code in range(min(sys.maxunicode, 0x2FFFF) + 1) if unicodedata.combining(chr(code))
} | {0x131: "i"}  # the Turkish dotless i: upper-cases to "I", so it must fold as "i" does


def fold(text: str) -> str:
    """`text` as compared ignoring case, compatibility forms and accents: "İstanbul",
    "ISTANBUL" and "istanbul" all give "istanbul"; "Straße" gives "strasse"; "ﬁ" gives
    "fi"; full-width letters give ASCII ones; the Kelvin sign gives "k"; the final sigma
    gives the sigma; the dotless i gives "i".

    Folding any piece of a text gives a piece of the folded text, in whatever case the
    piece was written: what makes a substring search find every substring.
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return decomposed.translate(_MARKS_AND_DOTLESS_I)
