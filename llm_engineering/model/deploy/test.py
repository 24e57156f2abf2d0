"""Talk to the deployed endpoint: `python test.py` (a conversation) or `--prompt "..."` (one answer).

Without --prompt it is an interactive chat (commands: /help); with piped input each line is a prompt.
With --prompt it prints one answer (or, with --json, one JSON object) and exits.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable

from llm_engineering.cli import ArgumentParser, echo, run
from llm_engineering.errors import ConfigurationError
from llm_engineering.inference.chat import ChatRepl, answer, format_stats
from llm_engineering.inference.client import InferenceClient
from llm_engineering.inference.parameters import PARAMETERS, GenerationParameters, parse_assignments
from llm_engineering.inference.warmup import retry_while_warming
from llm_engineering.names import check_sagemaker_name
from llm_engineering.settings import load_settings
from llm_engineering.terminal import TerminalText


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python test.py",
        description="Send prompts to the SageMaker endpoint and print the answers as they stream in.",
        epilog="Parameters: " + ", ".join(PARAMETERS) + ". Defaults come from .env (MAX_NEW_TOKENS_INFERENCE, ...).",
    )
    parser.add_argument("--prompt", help="answer this one prompt and exit (default: a conversation)")
    parser.add_argument("--no-stream", action="store_true", help="wait for the whole answer instead of streaming")
    parser.add_argument("--json", action="store_true", help="print one JSON object: answer, parameters, stats")
    parser.add_argument("--chat", action="store_true", help="send --prompt as a chat message (chat template)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a generation parameter (repeatable)"
    )
    parser.add_argument("--endpoint-name", help="endpoint to talk to (default: SAGEMAKER_ENDPOINT_INFERENCE)")
    parser.add_argument("--component", help="inference component (default: SAGEMAKER_INFERENCE_COMPONENT_NAME)")
    parser.add_argument(
        "--wait", action="store_true", help="retry while the component is scaled to zero, until the first token"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for option, value in (("--endpoint-name", args.endpoint_name), ("--component", args.component)):
        if value is not None:
            check_sagemaker_name(value, option)
    if args.prompt is not None and not args.prompt.strip():
        raise ConfigurationError('--prompt is empty: pass the text to send, e.g. --prompt "What is TGI?".')
    settings = load_settings()
    if isinstance(sys.stdin, io.TextIOWrapper):  # bytes that are not UTF-8 become U+FFFD, never a traceback
        sys.stdin.reconfigure(errors="replace")
    assigned = parse_assignments(args.param)
    params = GenerationParameters.from_settings(settings).updated(assigned)
    client = InferenceClient.from_settings(settings, endpoint_name=args.endpoint_name, component_name=args.component)
    if args.prompt is None:
        repl = ChatRepl(
            client,
            params,
            stdin=sys.stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            interactive=sys.stdin.isatty(),
            stream=not args.no_stream,
        )
        return repl.run()

    def one_shot() -> int:
        return _one_shot(
            client, args.prompt, params, chat=args.chat, stream=not args.no_stream, as_json=args.json, names=assigned
        )

    if not args.wait:
        return one_shot()
    return retry_while_warming(  # a component scaled to zero needs its start-up time, at most, and a poll or two
        one_shot,
        lambda line: print(line, file=sys.stderr, flush=True),
        timeout=settings.container_startup_health_check_timeout + 300,
        interval=settings.wait_poll_interval,
    )


def _one_shot(
    client: InferenceClient,
    prompt: str,
    params: GenerationParameters,
    *,
    chat: bool,
    stream: bool,
    as_json: bool,
    names: Iterable[str],
) -> int:
    """One answer: text as it streams (without the model's escape sequences), or one JSON object that keeps them.

    `names` are the parameters given on the command line: those the engine's API cannot take are named."""
    screen = TerminalText()
    try:
        completion = answer(
            client,
            prompt,
            params,
            chat=chat,
            stream=stream,
            write=_ignore if as_json else lambda p: _show(screen.feed(p)),
        )
    except BaseException:  # a broken or incomplete stream: the partial answer stays as it arrived
        _show(screen.finish())
        raise
    for note in client.notes(chat=chat, names=names):  # what the engine's API could not take
        print(f"note: {note}.", file=sys.stderr, flush=True)
    if as_json:
        echo(
            json.dumps(
                {
                    "answer": completion.text,
                    "endpoint": client.endpoint_name,
                    "component": client.component_name,
                    "engine": client.engine,
                    "mode": "chat" if chat else "generate",
                    "parameters": params.model_dump(),
                    "stats": completion.stats.as_dict(),
                },
                ensure_ascii=False,
            )
        )
    else:
        _show(screen.finish())
        echo()
        print(format_stats(completion.stats), file=sys.stderr, flush=True)
    return 0


def _show(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _ignore(piece: str) -> None:
    pass


if __name__ == "__main__":
    run(main)
