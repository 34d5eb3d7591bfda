"""The words of a normalised message as learned evidence and concept frames read them: a
word (an elision or contraction kept whole: "j'ai", "don't"), a symbol-led word ("$200",
"@everyone"), or one emoji (emoji carry meaning in chat: 📸 💸 ⏰ 📤). One pass per message,
shared by ``lexical.py`` and ``frames/``."""

from __future__ import annotations

import re

TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[@€$][a-z0-9]*"
                   r"|[\U0001F300-\U0001FAFF\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF]")

