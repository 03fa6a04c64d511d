"""Flags every example shares, so tests can point them at a local OpenAI-compatible server."""

from __future__ import annotations

import argparse


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", default="local:smollm2", help="provider:model for the runs (default: embedded)")
    p.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint for --model")
    p.add_argument("--out", default="runs/examples", help="output root for the run directories")
    p.add_argument("--similarity", default="rouge", help="embedding | rouge | exact (rouge needs no download)")
    p.add_argument("--domain", default="Email writing for work")
    return p


def run_defaults(args: argparse.Namespace) -> dict[str, object]:
    defaults: dict[str, object] = {"model": args.model, "similarity": args.similarity}
    if args.base_url:
        defaults["base_url"] = args.base_url
    return defaults
