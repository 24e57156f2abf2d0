"""Text from elsewhere (a model's answer, a container's error message) made safe to write to a terminal.

A model can answer with control sequences: CSI (`ESC [ ... m`: colours, cursor moves, screen clears), OSC
(`ESC ] ... BEL`: window titles, hyperlinks, on some terminals clipboard writes), DCS/APC strings, other
`ESC x` pairs, bare control characters, and `\\r`, which returns to the start of the line so that later text
overwrites what was shown. Written raw they repaint the screen or imitate the tool's own output.

`TerminalText` removes every such sequence as the text streams in (a sequence split across tokens is held
back until it completes), keeps line breaks and tabs, and turns a `\\r` into a line break, so nothing is
overwritten. Output meant for programs (`--json`) keeps the text exactly as the model sent it.
"""

from __future__ import annotations

ESC = "\x1b"
BEL = "\x07"
_C1_CSI, _C1_OSC, _C1_ST = "\x9b", "\x9d", "\x9c"
_STRING_INTRODUCERS = frozenset("]PX^_")
"""After ESC: OSC, DCS, SOS, PM and APC, each a string that ends with BEL or ST (`ESC \\`)."""
_KEPT = frozenset("\n\t")
_SEQUENCE_BYTES = {
    "escape-intermediate": (range(0x20, 0x30), range(0x30, 0x7F)),
    "csi": (range(0x20, 0x40), range(0x40, 0x7F)),
}
"""(bytes that continue the sequence, bytes that end it) for ESC-intermediate and CSI sequences (ECMA-48)."""


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0


class TerminalText:
    """Feed text as it arrives, write what `feed` returns; `finish()` returns what was held back."""

    def __init__(self) -> None:
        self._state = "text"
        self._pending_cr = False

    def feed(self, text: str) -> str:
        out: list[str] = []
        for char in text:
            self._step(char, out)
        return "".join(out)

    def finish(self) -> str:
        """End of the text: a held `\\r` becomes a line break; an unfinished sequence is dropped."""
        self._state = "text"
        if self._pending_cr:
            self._pending_cr = False
            return "\n"
        return ""

    def _step(self, char: str, out: list[str]) -> None:
        state = self._state
        if state == "text":
            self._text(char, out)
        elif state == "escape":  # the character after ESC decides what follows
            if _is_control(char):  # not a sequence after all: the control character counts on its own
                self._state = "text"
                self._text(char, out)
            elif char == "[":
                self._state = "csi"
            elif char in _STRING_INTRODUCERS:
                self._state = "string"
            elif 0x20 <= ord(char) <= 0x2F:
                self._state = "escape-intermediate"  # e.g. ESC ( B: wait for the final byte
            else:
                self._state = "text"  # a two-character sequence such as ESC c (reset) or ESC 7
        elif state in _SEQUENCE_BYTES:
            # ESC ( B waits for its final byte; CSI takes parameters and intermediates, then one final byte.
            middle, final = _SEQUENCE_BYTES[state]
            if ord(char) in middle:
                return
            self._state = "text"
            if ord(char) not in final:
                self._text(char, out)  # a broken sequence: this character is text again
        elif state == "string":
            self._string(char, out)
        elif state == "string-escape":  # ESC inside a string: `ESC \\` ends it, anything else starts anew
            self._state = "text"
            if char != "\\":
                self._text(ESC, out)
                self._step(char, out)

    def _text(self, char: str, out: list[str]) -> None:
        if self._pending_cr:
            self._pending_cr = False
            out.append("\n")
            if char == "\n":
                return
        if char == ESC:
            self._state = "escape"
        elif char == _C1_CSI:
            self._state = "csi"
        elif char == _C1_OSC:
            self._state = "string"
        elif char == "\r":
            self._pending_cr = True
        elif char in _KEPT or not _is_control(char):
            out.append(char)

    def _string(self, char: str, out: list[str]) -> None:
        """Inside OSC/DCS/APC: drop everything up to BEL or ST. A line break ends it too, so an unterminated
        title sequence cannot swallow the rest of an answer."""
        if char in (BEL, _C1_ST):
            self._state = "text"
        elif char == ESC:
            self._state = "string-escape"
        elif char == "\n":
            self._state = "text"
            out.append(char)


def clean(text: str) -> str:
    """`text` with every control sequence removed (see `TerminalText`), in one call."""
    screen = TerminalText()
    return screen.feed(text) + screen.finish()
