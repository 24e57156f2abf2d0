"""The conversation of `python test.py`: prompts and commands in, answers (token by token) out.

`ChatRepl` reads from and writes to the streams it is given, never to `sys.*` directly, so tests drive
it through a fake stdin. Answers go to `stdout`; decorations (banner, prompt) appear only when
interactive, and notes (stats lines, confirmations) go to stdout when interactive, to stderr when input
is piped, so piped output holds the answers alone.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TextIO

from llm_engineering.errors import UserFacingError
from llm_engineering.inference.client import Completion, Message, ModelInvocationError
from llm_engineering.inference.parameters import (
    CHAT_UNSUPPORTED,
    PARAMETERS,
    GenerationParameters,
    InvalidParameterError,
)
from llm_engineering.inference.streaming import GenerationStats
from llm_engineering.terminal import TerminalText

PROMPT = ">>> "
HELP = """Commands:
  /help              this list
  /params            the generation parameters, their values and usual ranges
  /set NAME VALUE    change a parameter, e.g. /set temperature 0.5 or /set top_k none
  /reset             forget the conversation so far
  /stream on|off     show answers token by token, or whole
  /chat on|off       chat (history + the model's chat template) or raw text generation
  /quit              leave (Ctrl-D too)
Ctrl-C stops an answer without leaving."""


class AnswerStream(Protocol):
    """What a streamed answer offers (see `streaming.TokenStream`)."""

    def __iter__(self) -> Iterator[str]: ...

    @property
    def text(self) -> str: ...

    @property
    def stats(self) -> GenerationStats | None: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """What the conversation needs from a client (see `client.InferenceClient`)."""

    @property
    def target(self) -> str: ...

    def generate(self, prompt: str, params: GenerationParameters | None = None) -> Completion: ...

    def chat(self, messages: Sequence[Message], params: GenerationParameters | None = None) -> Completion: ...

    def stream_text(self, prompt: str, params: GenerationParameters | None = None) -> AnswerStream: ...

    def stream_chat(self, messages: Sequence[Message], params: GenerationParameters | None = None) -> AnswerStream: ...


def answer(
    client: Backend,
    prompt: str,
    params: GenerationParameters,
    *,
    history: Sequence[Message] = (),
    chat: bool,
    stream: bool,
    write: Callable[[str], None],
) -> Completion:
    """One answer, written to `write` as it arrives (streamed) or whole.

    Chat mode sends `history` and the prompt as messages (the container applies the model's chat template);
    generate mode sends the prompt as is. A stream is closed however the iteration ends (Ctrl-C included).
    """
    messages = [*history, {"role": "user", "content": prompt}]
    if not stream:
        completion = client.chat(messages, params) if chat else client.generate(prompt, params)
        write(completion.text)
        return completion
    pieces = client.stream_chat(messages, params) if chat else client.stream_text(prompt, params)
    try:
        for piece in pieces:
            write(piece)
    finally:
        pieces.close()
    return Completion(pieces.text, pieces.stats or GenerationStats(tokens=0, seconds=0.0))


def format_stats(stats: GenerationStats) -> str:
    """`[42 tokens in 1.52 s, first token after 0.21 s, 31.8 tokens/s]` (missing figures left out)."""
    parts = [f"{stats.tokens} tokens in {stats.seconds:.2f} s"]
    if stats.time_to_first_token is not None:
        parts.append(f"first token after {stats.time_to_first_token:.2f} s")
    speed = stats.tokens_per_second
    if speed is not None:
        parts.append(f"{speed:.1f} tokens/s")
    if stats.finish_reason:
        parts.append(f"finish: {stats.finish_reason}")
    return f"[{', '.join(parts)}]"


def format_params(
    params: GenerationParameters, chat_unsupported: Sequence[str] = CHAT_UNSUPPORTED, engine: str = "TGI"
) -> list[str]:
    """One line per parameter: name, value, what is allowed and usual; then what the engine's chat API lacks."""
    values = params.model_dump()
    lines = []
    for name, info in PARAMETERS.items():
        usual = f", usually {info.usual}" if info.usual else ""
        note = f"; {info.note}" if info.note else ""
        lines.append(f"  {name:<19} {show_value(values[name]):<8} {info.allowed}{usual}{note}")
    if chat_unsupported:
        missing = ", ".join(chat_unsupported)
        lines.append(f"  (chat mode does not send {missing}: {engine}'s chat API has no such fields)")
    return lines


def show_value(value: object) -> str:
    """A parameter value as typed on the command line."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


class ChatRepl:
    """Prompts in, answers out, with commands to change parameters and modes between prompts."""

    def __init__(
        self,
        client: Backend,
        params: GenerationParameters,
        *,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
        interactive: bool,
        stream: bool = True,
        chat: bool = True,
    ) -> None:
        self.client = client
        self.params = params
        self.stream = stream
        self.chat = chat
        self.history: list[dict[str, str]] = []
        self.failures = 0
        self._stdin = stdin
        self._out = stdout
        self._err = stderr
        self._interactive = interactive
        self._notes = stdout if interactive else stderr
        # The real terminal gets line editing and history through readline-backed input().
        self._line_editing = interactive and stdin is sys.stdin and stdout is sys.stdout

    def run(self) -> int:
        """Converse until /quit or end of input; 1 when a piped prompt failed, else 0."""
        if self._line_editing:
            with contextlib.suppress(ImportError):  # importing it is what gives input() line editing
                import readline  # noqa: F401
        if self._interactive:
            self._note(
                f"Talking to {self.client.target} ({self._modes()}). Type /help for commands; /quit or Ctrl-D leaves."
            )
        while True:
            try:
                line = self._read()
            except EOFError:
                if self._interactive:
                    self._write("\n")
                break
            except KeyboardInterrupt:  # Ctrl-C at the prompt drops the line, as in a shell
                self._write("\n")
                continue
            if not self.handle(line):
                break
        return 1 if self.failures and not self._interactive else 0

    def handle(self, line: str) -> bool:
        """Act on one line of input; False when the conversation should end."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            return self._command(text)
        self._answer(text)
        return True

    def _read(self) -> str:
        if self._line_editing:
            return input(PROMPT)
        if self._interactive:
            self._write(PROMPT)
        line = self._stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    def _command(self, text: str) -> bool:
        command, _, argument = text.partition(" ")
        argument = argument.strip()
        command = command.lower()
        if command in {"/quit", "/exit"}:
            return False
        if command == "/help":
            self._write(HELP + "\n")
        elif command == "/params":
            self._write("\n".join(self._params_lines()) + "\n")
        elif command == "/set":
            self._set(argument)
        elif command == "/reset":
            self.history.clear()
            self._note("Conversation cleared.")
        elif command in {"/stream", "/chat"}:
            self._toggle(command[1:], argument)
        else:
            self._error(f"Unknown command {command}: type /help for the list.")
        return True

    def _set(self, argument: str) -> None:
        name, _, value = argument.partition(" ")
        if not name or not value.strip():
            self._error(f"Usage: /set NAME VALUE, with NAME one of {', '.join(PARAMETERS)}.")
            return
        try:
            self.params = self.params.updated({name: value.strip()})
        except InvalidParameterError as error:
            self._error(str(error))
            return
        self._note(f"{name} = {show_value(getattr(self.params, name))}")
        for note in self._engine_notes(chat=self.chat, names=[name], mode=False):
            self._note(f"({note})")

    def _toggle(self, mode: str, argument: str) -> None:
        if argument.lower() not in {"on", "off"}:
            self._error(f"Usage: /{mode} on|off (now {'on' if getattr(self, mode) else 'off'}).")
            return
        setattr(self, mode, argument.lower() == "on")
        self._note(f"{self._modes()}.")
        if mode == "chat":
            for note in self._engine_notes(chat=self.chat, names=(), mode=True):
                self._note(f"({note})")

    # --- the engine behind the client (clients that do not say are TGI's) ---

    def _engine_notes(self, *, chat: bool, names: Sequence[str], mode: bool) -> list[str]:
        """What the client says the engine does not send of `names`, and (`mode`) how it serves the mode."""
        notes = getattr(self.client, "notes", None)
        if notes is None:
            return [f"TGI's chat API has no {name}: not sent" for name in names if chat and name in CHAT_UNSUPPORTED]
        found = notes(chat=chat, names=names)
        return found if mode else [note for note in found if any(name in note for name in names)]

    def _params_lines(self) -> list[str]:
        protocol = getattr(self.client, "protocol", None)
        if protocol is None:
            return format_params(self.params)
        return format_params(self.params, protocol.unsupported(True), protocol.label)

    def _modes(self) -> str:
        chat = "chat mode" if self.chat else "text generation mode (no history, no chat template)"
        return f"{chat}, streaming {'on' if self.stream else 'off'}"

    def _answer(self, prompt: str) -> None:
        """Send one prompt; print the answer as it comes; keep the exchange only when it completed.

        The answer is shown without the model's escape sequences and `\r` overwrites (`terminal.TerminalText`);
        the history keeps it as sent.
        """
        written: list[str] = []
        screen = TerminalText()

        def show(piece: str) -> None:
            self._write(screen.feed(piece))
            written.append(piece)

        try:
            completion = answer(
                self.client, prompt, self.params, history=self.history, chat=self.chat, stream=self.stream, write=show
            )
        except KeyboardInterrupt:
            self._write(screen.finish())
            self._write("\n" if written else "")
            self._note("[interrupted: this exchange is not kept in the conversation]")
            return
        except UserFacingError as error:
            self._write(screen.finish())
            self._write("\n" if written else "")
            self.failures += 1
            self._error(str(error))
            if self.chat and self.history and isinstance(error, ModelInvocationError) and "token" in str(error):
                self._note("(the conversation may have outgrown the model's context: /reset starts a new one)")
            return
        self._write(screen.finish() + "\n")
        self._note(format_stats(completion.stats))
        if self.chat:
            self.history.extend(
                [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion.text}]
            )

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def _note(self, text: str) -> None:
        self._notes.write(text + "\n")
        self._notes.flush()

    def _error(self, text: str) -> None:
        self._err.write(f"error: {text}\n")
        self._err.flush()
