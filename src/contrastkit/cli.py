"""The ``contrastkit`` command line: train, evaluate, audit, reproduce, bench, generate, embed, search."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from contrastkit.papers import PAPERS, list_papers
from contrastkit.papers._table import reproduce_help
from contrastkit.pipeline.named import recipe_names

app = typer.Typer(
    help="contrastkit: contrastive representation learning as composable parts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
bench_app = typer.Typer(help="Speed and memory benchmarks.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


# Errors that mean bad input or an unusable file (the library names the argument); anything else is a bug
# and keeps its traceback.
USER_ERRORS = (ValueError, TypeError, OSError)


def _fail(err: BaseException) -> None:
    """Print one ``error: ...`` line (bounded, single line) and exit with status 2."""
    message = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, OSError) and err.filename is not None and str(err.filename) not in message:
        message = f"{message}: {err.filename}"
    if len(message) > 2000:
        message = message[:1997] + "..."
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


@contextmanager
def _progress(title: str, enabled: bool = True) -> Iterator[None]:
    """Show the library's progress messages (:mod:`contrastkit._progress`) on stderr: a live status line on a
    terminal, else a line per new stage and at most one every 10 s (logs of batch jobs stay short)."""
    if not enabled:
        yield
        return
    from rich.console import Console

    from contrastkit._progress import reporting

    console, start = Console(stderr=True), time.monotonic()

    def elapsed() -> str:
        seconds = int(time.monotonic() - start)
        return f"{seconds // 60}:{seconds % 60:02d}"

    if console.is_terminal:
        with console.status(title) as status, reporting(lambda m: status.update(f"{title} [{elapsed()}] {m}")):
            yield
        return
    last = {"at": -1e9, "stage": None}

    def report(message: str) -> None:
        now, stage = time.monotonic(), message.split(":")[0]
        if stage != last["stage"] or now - last["at"] >= 10:
            typer.echo(f"[{elapsed()}] {title}: {message}", err=True)  # plain lines: logs are not wrapped
            last.update(at=now, stage=stage)

    with reporting(report):
        yield


@app.command()
def train(
    recipe: Annotated[str, typer.Argument(
        help=f"A YAML file, or a packaged recipe by name (from any folder): {', '.join(recipe_names())}")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Run folder to write")] = Path("runs/run"),
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT/checkpoints/last.ckpt")] = False,
    allow_recipe_change: Annotated[bool, typer.Option(
        help="With --resume: continue even if the recipe differs from the checkpoint's (loss, seed, lr, ...)")] = False,
    devices: Annotated[int | None, typer.Option(help="Number of devices (processes on CPU)")] = None,
    strategy: Annotated[str | None, typer.Option(help="Lightning strategy, e.g. ddp")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Override trainer.max_steps")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a recipe key: key.path=value")] = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bar")] = True,
) -> None:
    """Train a recipe (image views: simclr / supcon / moco; image-text: clip / lit; time series: ts2vec),
    evaluate it, and write the run folder. A paper's reproduction recipe is named and its command given."""
    from contrastkit._yaml import YAMLLimitError, load_yaml
    from contrastkit.pipeline.fit_recipes import FIT_METHODS, method_name, parse_fit_recipe, train_fit_recipe
    from contrastkit.pipeline.named import reproduction_message, reproduction_of, resolve_recipe
    from contrastkit.pipeline.recipe import load_recipe
    from contrastkit.pipeline.train import train as run_training

    overrides = list(set_ or [])
    if devices is not None:
        overrides.append(f"trainer.devices={devices}")
    if strategy is not None:
        overrides.append(f"trainer.strategy={strategy}")
    if max_steps is not None:
        overrides.append(f"trainer.max_steps={max_steps}")
    try:
        path = resolve_recipe(recipe)
        raw = load_yaml(path, source=f"recipe: {path}") if path.is_file() else None
        paper = reproduction_of(path, raw)
        if paper is not None:
            raise ValueError(reproduction_message(path, paper))
        if method_name(raw) in FIT_METHODS:
            metrics = train_fit_recipe(parse_fit_recipe(raw, str(path), overrides), output, resume=resume,
                                       progress=progress)
            typer.echo(json.dumps(metrics, indent=2, sort_keys=True))
            typer.echo(f"run folder: {output}")
            return
        parsed = load_recipe(path, overrides)
        result = run_training(parsed, output, resume=resume, progress=progress,
                              allow_recipe_change=allow_recipe_change)
    except YAMLLimitError as err:
        _fail(ValueError(str(err)))
        return
    except USER_ERRORS as err:
        _fail(err)
        return
    if result.metrics:
        _print_metrics(result.metrics)
        typer.echo(f"run folder: {result.run_dir}")


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `train`")],
    progress: Annotated[bool, typer.Option(help="Show progress on stderr")] = True,
) -> None:
    """Re-evaluate a saved run (metrics.json, report.md)."""
    from contrastkit.pipeline.train import evaluate_run

    try:
        with _progress(f"evaluate {run_dir}", progress):
            metrics = evaluate_run(run_dir)
    except USER_ERRORS as err:
        _fail(err)
        return
    _print_metrics(metrics)


@app.command()
def audit(
    path: Annotated[Path, typer.Argument(help="A run folder of `train` or a save_pretrained model folder "
                                              "(image encoder or CLIP-style two-tower model)", metavar="RUN_OR_MODEL")],
    data: Annotated[str | None, typer.Option(help="Clean labelled images to audit with (a bundled dataset: "
                                                  "digits, digits_canvas, ...); default: the folder's own")] = None,
    upsample: Annotated[int | None, typer.Option(help="Nearest-upsample the images by this factor")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder (audit.md, audit.json, PNG)")] = Path(
        "audit-report"),
    clean_images: Annotated[int, typer.Option(help="Size of the clean set drawn from the train split")] = 400,
    uap_steps: Annotated[int, typer.Option(help="Steps of the universal adversarial patch")] = 100,
    inversion_steps: Annotated[int, typer.Option(help="Steps of each trigger inversion")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the clean set, patch and inversions")] = 0,
) -> None:
    """Scan a model for a backdoor (InverTune's target identification + trigger inversion): prints the verdict
    and its evidence, writes a report. Exit status: 0 no backdoor found, 1 backdoor suspected, 2 bad input
    (one ``error:`` line), 3 the audit itself failed (traceback on stderr) -- never 1, so a crash is not read
    as a finding."""
    import traceback

    from contrastkit.backdoor.audit import AuditConfig, audit_path, check_report_folder, write_report

    try:
        if not path.exists():
            raise FileNotFoundError(f"path: {path} does not exist")
        check_report_folder(out)
        cfg = AuditConfig(clean_images=clean_images, uap_steps=uap_steps, inversion_steps=inversion_steps, seed=seed)
        report = audit_path(path, dataset=data, upsample=upsample, config=cfg)
        folder = write_report(report, out)
    except USER_ERRORS as err:
        _fail(err)
        return
    except Exception:  # noqa: BLE001 - any other failure must not exit 1 ("backdoor suspected")
        traceback.print_exc()
        typer.secho("error: the audit failed (traceback above); no verdict", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=3) from None
    typer.echo(report.verdict())
    typer.echo(f"report: {folder / 'audit.md'}")
    if report.backdoor:
        raise typer.Exit(code=1)


@app.command(help=reproduce_help(list_papers()))
def reproduce(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(PAPERS)}")],
    quick: Annotated[bool, typer.Option(help="Fast smoke variant (1 seed, tiny budget)")] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress (each training's steps) on stderr")] = True,
) -> None:
    from contrastkit.papers import get_reproduction

    try:
        fn = get_reproduction(name)
    except ValueError as err:
        _fail(err)
        return
    from contrastkit._yaml import YAMLLimitError
    from contrastkit.papers._schema import RecipeError as PaperRecipeError
    from contrastkit.pipeline.recipe import RecipeError

    try:
        with _progress(f"reproduce {name}{' --quick' if quick else ''}", progress):
            result = fn(quick=quick)
    except (PaperRecipeError, RecipeError, YAMLLimitError) as err:  # the paper's recipe files do not load
        _fail(ValueError(str(err)))
        return
    typer.echo(result.summary())
    if json_path is not None:
        result.save(json_path)
    if not result.passed() and not quick:
        raise typer.Exit(code=1)


@app.command()
def papers(
    markdown: Annotated[bool, typer.Option(help="Print the README results table (Markdown) instead")] = False,
) -> None:
    """The registered papers: name, title, modality, loss, claim and measured outcome."""
    from contrastkit.papers._table import COLUMNS, markdown_table

    specs = list_papers()
    if markdown:
        typer.echo(markdown_table(specs))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*COLUMNS, title="contrastkit papers (folders: src/contrastkit/papers/<name>/)", show_lines=True)
    for p in specs:
        table.add_row(p.name, f"{p.title} ({p.citation})", p.modality, p.loss, p.claim, p.outcome)
    Console(width=max(160, Console().width)).print(table)


@bench_app.command("losses")
def bench_losses(
    json_path: Annotated[Path, typer.Option("--json", help="Where to write the results")] = Path(
        "bench-losses.json"
    ),
    quick: Annotated[bool, typer.Option(help="Small sizes only")] = False,
) -> None:
    """Forward+backward time and peak memory of the losses against the naive loss and the peers."""
    if Path("benchmarks/losses.py").is_file() and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # the harness lives in the repository, not the package
    try:
        from benchmarks.losses import main as bench_main
    except ImportError:
        _fail(RuntimeError("bench: run from the repository root (the benchmarks/ package is not installed)"))
        return
    bench_main(["--json", str(json_path), *(["--quick"] if quick else [])])


@app.command()
def generate(
    model: Annotated[Path, typer.Option(help="Local folder of a transformers causal LM")],
    prompt: Annotated[str, typer.Option(help="Prompt text")],
    strategy: Annotated[str, typer.Option(help="contrastive | greedy | nucleus")] = "contrastive",
    top_k: Annotated[int, typer.Option("--top-k")] = 4,
    alpha: Annotated[float, typer.Option(help="Degeneration penalty of contrastive search")] = 0.6,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 64,
) -> None:
    """Generate text with contrastive search (or greedy / nucleus) from a local model folder."""
    try:
        from contrastkit.generation.cli import generate_command
    except ImportError as err:
        _fail(RuntimeError(f"generate: needs the text extra (pip install 'contrastkit[text]'): {err}"))
        return
    try:
        generate_command(str(model), prompt, strategy, top_k, alpha, max_new_tokens)
    except (ValueError, FileNotFoundError) as err:
        _fail(err)


@app.command()
def embed(
    file: Annotated[Path, typer.Argument(help="A UTF-8 text file, one text per line", metavar="FILE")],
    out: Annotated[Path, typer.Option(help="The index file to write (safetensors)")],
    model: Annotated[str | None, typer.Option(
        help="A sentence-transformers / transformers folder (or a hub name in the local cache); "
             "default: the packaged all-MiniLM-L6-v2")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    max_length: Annotated[int, typer.Option("--max-length", help="Tokens per text (truncation)")] = 128,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Encode every line of FILE into L2-normalised sentence embeddings, stored with the texts."""
    try:
        from contrastkit.text.cli import embed_command
    except ImportError as err:
        _fail(RuntimeError(f"embed: needs the text extra (pip install 'contrastkit[text]'): {err}"))
        return
    try:
        path = embed_command(model, str(file), str(out), batch_size=batch_size, max_length=max_length,
                             progress=progress)
    except USER_ERRORS as err:
        _fail(err)
        return
    typer.echo(f"wrote {path}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="The query text", metavar="QUERY")],
    index: Annotated[Path, typer.Option(help="An index written by `contrastkit embed`")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many texts to print")] = 5,
    model: Annotated[str | None, typer.Option(help="Encode the query with this model instead of the index's")] = None,
) -> None:
    """Print the k texts of an index closest to QUERY (cosine similarity, faiss)."""
    try:
        from contrastkit.text.cli import search_command
    except ImportError as err:
        _fail(RuntimeError(f"search: needs the text extra (pip install 'contrastkit[text]'): {err}"))
        return
    try:
        hits = search_command(str(index), query, k=k, model=model)
    except USER_ERRORS as err:
        _fail(err)
        return
    for rank, (_, score, text) in enumerate(hits, 1):
        typer.echo(f"{rank}\t{score:.4f}\t{text}")


def _print_metrics(metrics: dict[str, float]) -> None:
    learned = metrics.get("linear_probe_accuracy")
    raw = metrics.get("raw_pixel_linear_probe_accuracy")
    rand = metrics.get("random_encoder_linear_probe_accuracy")
    if learned is not None and raw is not None and rand is not None:
        typer.echo(f"linear probe: {learned:.1%} (raw pixels {raw:.1%}, random encoder {rand:.1%})")
    typer.echo(json.dumps(metrics, indent=2, sort_keys=True))


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
