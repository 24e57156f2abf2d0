"""Talk to the deployed endpoint: `python test.py` (a conversation) or `--prompt "..."` (one answer).

Without --prompt it is an interactive chat (commands: /help); with piped input each line is a prompt.
With --prompt it prints one answer (or, with --json, one JSON object) and exits.
"""

from __future__ import annotations

import argparse
import json
import sys

from llm_engineering.cli import echo, run
from llm_engineering.errors import ConfigurationError
from llm_engineering.inference.chat import ChatRepl, format_stats
from llm_engineering.inference.client import (
    PARAMETERS,
    Completion,
    GenerationParameters,
    InferenceClient,
    parse_assignments,
)
from llm_engineering.inference.streaming import GenerationStats
from llm_engineering.settings import SAGEMAKER_NAME_PATTERN, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for option, value in (("--endpoint-name", args.endpoint_name), ("--component", args.component)):
        if value is not None and not SAGEMAKER_NAME_PATTERN.match(value):
            raise ConfigurationError(
                f"{option} {value!r} is not a SageMaker name: use 1-63 letters, digits or hyphens, "
                "starting and ending with a letter or digit."
            )
    if args.prompt is not None and not args.prompt.strip():
        raise ConfigurationError('--prompt is empty: pass the text to send, e.g. --prompt "What is TGI?".')
    settings = load_settings()
    params = GenerationParameters.from_settings(settings).updated(parse_assignments(args.param))
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
    completion = answer_once(client, args.prompt, params, chat=args.chat, stream=not args.no_stream, show=not args.json)
    if args.json:
        echo(
            json.dumps(
                {
                    "answer": completion.text,
                    "endpoint": client.endpoint_name,
                    "component": client.component_name,
                    "mode": "chat" if args.chat else "generate",
                    "parameters": params.model_dump(),
                    "stats": completion.stats.as_dict(),
                },
                ensure_ascii=False,
            )
        )
    else:
        print(format_stats(completion.stats), file=sys.stderr, flush=True)
    return 0


def answer_once(
    client: InferenceClient, prompt: str, params: GenerationParameters, *, chat: bool, stream: bool, show: bool
) -> Completion:
    """One answer; with `show`, written to stdout as it arrives (the stats line goes to stderr)."""
    messages = [{"role": "user", "content": prompt}]
    if not stream:
        completion = client.chat(messages, params) if chat else client.generate(prompt, params)
        if show:
            echo(completion.text)
        return completion
    with client.stream_chat(messages, params) if chat else client.stream_text(prompt, params) as pieces:
        for piece in pieces:
            if show:
                sys.stdout.write(piece)
                sys.stdout.flush()
    if show:
        echo()
    return Completion(pieces.text, pieces.stats or GenerationStats(tokens=0, seconds=0.0))


if __name__ == "__main__":
    run(main)
