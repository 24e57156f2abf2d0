"""The conversation driven through a fake stdin: commands, history, modes, interrupts and errors."""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from llm_engineering.inference.chat import HELP, ChatRepl, format_params, format_stats
from llm_engineering.inference.client import Completion, ModelInvocationError
from llm_engineering.inference.parameters import GenerationParameters
from llm_engineering.inference.streaming import GenerationStats

STATS = GenerationStats(tokens=3, seconds=1.5, time_to_first_token=0.5, finish_reason="stop")
STATS_LINE = "[3 tokens in 1.50 s, first token after 0.50 s, 2.0 tokens/s, finish: stop]"


class FakeStream:
    """Pieces as a TokenStream gives them; Ctrl-C (KeyboardInterrupt) after `interrupt_after` pieces."""

    def __init__(self, pieces: list[str], interrupt_after: int | None = None) -> None:
        self._pieces = pieces
        self._interrupt_after = interrupt_after
        self.text = ""
        self.stats: GenerationStats | None = None
        self.closed = False

    def __iter__(self) -> Iterator[str]:
        for index, piece in enumerate(self._pieces):
            if index == self._interrupt_after:
                raise KeyboardInterrupt
            self.text += piece
            yield piece
        self.stats = STATS

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """Records every call; answers from a queue of piece lists, FakeStreams or exceptions."""

    target = "endpoint 'llm-endpoint'"

    def __init__(self, *answers: Any) -> None:
        self.answers: deque[Any] = deque(answers)
        self.calls: list[tuple[str, Any, GenerationParameters]] = []
        self.streams: list[FakeStream] = []

    def _next(self, method: str, request: Any, params: GenerationParameters | None) -> Any:
        self.calls.append((method, [dict(m) for m in request] if isinstance(request, list) else request, params))
        answer = self.answers.popleft()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _stream(self, method: str, request: Any, params: GenerationParameters | None) -> FakeStream:
        answer = self._next(method, request, params)
        stream = answer if isinstance(answer, FakeStream) else FakeStream(answer)
        self.streams.append(stream)
        return stream

    def stream_chat(self, messages: Sequence[Any], params: GenerationParameters | None = None) -> FakeStream:
        return self._stream("stream_chat", list(messages), params)

    def stream_text(self, prompt: str, params: GenerationParameters | None = None) -> FakeStream:
        return self._stream("stream_text", prompt, params)

    def chat(self, messages: Sequence[Any], params: GenerationParameters | None = None) -> Completion:
        return Completion("".join(self._next("chat", list(messages), params)), STATS)

    def generate(self, prompt: str, params: GenerationParameters | None = None) -> Completion:
        return Completion("".join(self._next("generate", prompt, params)), STATS)


def _run(
    backend: FakeBackend, text: str, *, interactive: bool = False, **options: Any
) -> tuple[int, str, str, ChatRepl]:
    stdout, stderr = io.StringIO(), io.StringIO()
    repl = ChatRepl(
        backend,
        GenerationParameters(),
        stdin=io.StringIO(text),
        stdout=stdout,
        stderr=stderr,
        interactive=interactive,
        **options,
    )
    code = repl.run()
    return code, stdout.getvalue(), stderr.getvalue(), repl


def test_piped_prompts_get_answers_only_and_history_is_kept() -> None:
    backend = FakeBackend(["Hello", "!"], ["Fine", "."])
    code, out, err, repl = _run(backend, "Hi\nHow are you?\n")
    assert code == 0
    assert out == "Hello!\nFine.\n"
    assert err == f"{STATS_LINE}\n{STATS_LINE}\n"
    assert [call[:2] for call in backend.calls] == [
        ("stream_chat", [{"role": "user", "content": "Hi"}]),
        (
            "stream_chat",
            [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "How are you?"},
            ],
        ),
    ]
    assert repl.history[-1] == {"role": "assistant", "content": "Fine."}


def test_interactive_shows_banner_prompts_and_stats() -> None:
    code, out, err, _ = _run(FakeBackend(["Yes"]), "Hi\n", interactive=True)
    assert code == 0
    assert err == ""
    assert out == (
        "Talking to endpoint 'llm-endpoint' (chat mode, streaming on). "
        "Type /help for commands; /quit or Ctrl-D leaves.\n"
        f">>> Yes\n{STATS_LINE}\n>>> \n"
    )


def test_help_and_params() -> None:
    code, out, _, _ = _run(FakeBackend(), "/help\n/params\n")
    assert code == 0
    assert out == HELP + "\n" + "\n".join(format_params(GenerationParameters())) + "\n"
    params = format_params(GenerationParameters())
    assert params[1] == "  temperature         0.7      a number > 0, usually 0.5-1.0; higher is more random"
    assert (
        params[2]
        == "  top_p               0.9      a number with 0 < top_p < 1, usually 0.7-0.95; nucleus sampling mass"
    )
    assert params[4] == "  repetition_penalty  none     a number > 0, or none, usually 1.0-2.0; none: no penalty"
    assert params[5].startswith("  stop                []       a string")
    stops = format_params(GenerationParameters(stop=["\n\n", "User:"]))
    assert stops[5].startswith('  stop                ["\\n\\n", "User:"] a string')


def test_set_changes_the_next_request_and_refuses_bad_values() -> None:
    backend = FakeBackend(["ok"])
    _, _, err, repl = _run(backend, "/set temperature 0.5\n/set temperature 0\n/set top_k\nHi\n")
    assert err.splitlines()[:3] == [
        "temperature = 0.5",
        "error: Invalid generation parameter temperature=0: it must be a number > 0 (0.5-1.0 is usual).",
        "error: Usage: /set NAME VALUE, with NAME one of max_new_tokens, temperature, top_p, top_k, "
        "repetition_penalty, stop, do_sample, seed, return_full_text.",
    ]
    assert backend.calls[0][2].temperature == 0.5
    assert repl.params.temperature == 0.5


def test_reset_forgets_the_conversation() -> None:
    backend = FakeBackend(["A"], ["B"])
    _, _, err, _ = _run(backend, "one\n/reset\ntwo\n")
    assert "Conversation cleared." in err.splitlines()
    assert backend.calls[1][1] == [{"role": "user", "content": "two"}]


def test_stream_off_and_chat_off_switch_the_request_kind() -> None:
    backend = FakeBackend(["whole"], ["raw"], ["streamed raw"])
    _, out, err, repl = _run(backend, "/stream off\nHi\n/chat off\nContinue this\n/stream on\nAgain\n/chat maybe\n")
    assert [call[:2] for call in backend.calls] == [
        ("chat", [{"role": "user", "content": "Hi"}]),
        ("generate", "Continue this"),
        ("stream_text", "Again"),
    ]
    assert out == "whole\nraw\nstreamed raw\n"
    assert err.splitlines()[0] == "chat mode, streaming off."
    assert err.splitlines()[-1] == "error: Usage: /chat on|off (now off)."
    assert repl.history == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "whole"}]


def test_ctrl_c_mid_stream_stops_the_answer_not_the_conversation() -> None:
    interrupted = FakeStream(["Once", " upon", " a"], interrupt_after=2)
    backend = FakeBackend(["Hello"], interrupted, ["Short."])
    code, out, err, repl = _run(backend, "Hi\nTell me a story\nShorter\n")
    assert code == 0
    assert out == "Hello\nOnce upon\nShort.\n"
    assert "[interrupted: this exchange is not kept in the conversation]" in err.splitlines()
    assert interrupted.closed
    assert backend.calls[2][1] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Shorter"},
    ]
    assert len(repl.history) == 4


class InterruptingStdin(io.StringIO):
    """Ctrl-C at the prompt once, then the given lines."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.interrupted = False

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return super().readline()


def test_ctrl_c_at_the_prompt_drops_the_line() -> None:
    stdout = io.StringIO()
    backend = FakeBackend(["Yes"])
    repl = ChatRepl(
        backend,
        GenerationParameters(),
        stdin=InterruptingStdin("Hi\n"),
        stdout=stdout,
        stderr=io.StringIO(),
        interactive=False,
    )
    assert repl.run() == 0
    assert stdout.getvalue() == "\nYes\n"


def test_errors_are_one_line_and_the_conversation_goes_on() -> None:
    error = ModelInvocationError("The model container rejected the request (HTTP 422): too many tokens. Fix it.")
    backend = FakeBackend(["A"], error, ["B"])
    code, out, err, repl = _run(backend, "one\ntwo\nthree\n")
    assert code == 1  # piped input: a failed prompt shows in the exit code
    assert out == "A\nB\n"
    assert err.splitlines() == [
        STATS_LINE,
        "error: The model container rejected the request (HTTP 422): too many tokens. Fix it.",
        "(the conversation may have outgrown the model's context: /reset starts a new one)",
        STATS_LINE,
    ]
    assert [m["content"] for m in repl.history] == ["one", "A", "three", "B"]


def test_quit_ends_before_later_lines_and_unknown_commands_are_named() -> None:
    backend = FakeBackend()
    code, out, err, _ = _run(backend, "/frobnicate\n/quit\nnever sent\n")
    assert (code, out, backend.calls) == (0, "", [])
    assert err == "error: Unknown command /frobnicate: type /help for the list.\n"


def test_format_stats_without_streaming_figures() -> None:
    assert format_stats(GenerationStats(tokens=0, seconds=0.25)) == "[0 tokens in 0.25 s]"
    assert format_stats(GenerationStats(tokens=10, seconds=2.0)) == "[10 tokens in 2.00 s, 5.0 tokens/s]"


@pytest.mark.parametrize("line", ["", "   ", "\t"])
def test_blank_lines_send_nothing(line: str) -> None:
    backend = FakeBackend()
    assert _run(backend, line + "\n")[:3] == (0, "", "")
    assert backend.calls == []
