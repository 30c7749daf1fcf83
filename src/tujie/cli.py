"""The `tujie` command line: run recipes, list them, rebuild reports.

    tujie recipes
    tujie run mnist-mlp --set epochs=3 --set lr=0.002
    tujie run --resume runs/mnist-mlp-20261123-101500 --set epochs=8
    tujie run digits-mlp --nproc 2
    tujie report runs/mnist-mlp-20261123-101500 --lang zh
    tujie compare runs/digits-mlp-* --output compare.html
    tujie tune digits-mlp --trials 40 --sampler tpe --pruner median --workers 2
    tujie kinds
    tujie lr-find mnist-mlp --set optimizer=sgd
    tujie predict runs/imdb-bilstm-20261123-120000 "A wonderful, moving film."
    tujie translate runs/tatoeba-fr-en-attention-20261123-130000 "je suis content ." --beam 5
    tujie compress runs/mnist-lenet5-20261206-101500 --method prune --method quantize_dynamic
    tujie export runs/mnist-lenet5-20261206-101500 --format onnx
    tujie explain runs/mnist-cnn-fast-20261206-101500 --method ig --images 6
    tujie serve runs/mnist-lenet5-20261206-101500 --port 8000
    tujie generate runs/tang-poetry-gpt-20261206-210000 "床前明月光" --temperature 0.8 --top-k 40 --max-new 64 --num 5
    tujie federated server mnist-federated --address 127.0.0.1:8080 --clients 3 --rounds 5
    tujie federated client mnist-federated --address 127.0.0.1:8080 --clients 3 --partition 0
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import TujieError
from .i18n import _, set_language, translated

LANG_HELP = "language of the report and messages: zh or en (default: TUJIE_LANG, else the locale)"

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="tujie (图解): run the textbook's deep-learning recipes and see what happened.")


def _launch(recipe, set_, resume, quiet, lang, no_report, nproc, nnodes, node_rank, master_addr, master_port) -> int:
    """`tujie run ... --nproc N`: check the flags and the recipe here, once, then start the processes with torchrun."""
    from .errors import ConfigError
    from .runner import check_processes, resolve_config
    from .train.distributed import launch

    def refuse(what, expected, received, fix):
        raise ConfigError(what, expected=expected, received=received, fix=fix)

    if nproc < 1:
        refuse("Invalid value received for --nproc.", "processes per machine, an integer >= 1", f"--nproc {nproc}",
               "Pass --nproc 2, for example (one process per GPU, or per group of CPU cores).")
    if nnodes is not None and nnodes < 1:
        refuse("Invalid value received for --nnodes.", "the number of machines, an integer >= 1", f"--nnodes {nnodes}",
               "Pass --nnodes 2 on each of two machines.")
    nodes = nnodes or 1
    if nodes == 1 and (node_rank is not None or master_addr or master_port is not None):
        given = " ".join(f for f, v in (("--node-rank", node_rank), ("--master-addr", master_addr), ("--master-port", master_port))
                         if v is not None)
        refuse(f"{given} names a place among several machines, but --nnodes is not above 1.",
               "--nnodes N (N > 1) with --node-rank, --master-addr and --master-port; on one machine none of them "
               "(torchrun picks a free port itself)", f"{given} with --nnodes {nnodes}",
               "Add --nnodes 2 (and run the command on every machine), or drop those flags.")
    if nodes > 1 and (node_rank is None or not master_addr):
        refuse("Training on several machines needs this machine's rank and node 0's address.",
               "--node-rank (0 .. nnodes-1) and --master-addr (the address of the machine with --node-rank 0)",
               f"--nnodes {nodes} --node-rank {node_rank} --master-addr {master_addr}",
               "Run, e.g., on node 0: --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --master-port 29500, "
               "and on node 1 the same with --node-rank 1.")
    if nodes > 1 and not 0 <= node_rank < nodes:
        refuse("Invalid value received for --node-rank.", f"0 .. {nodes - 1} (--nnodes {nodes})", f"--node-rank {node_rank}",
               "Give node 0 (the one at --master-addr) --node-rank 0, the next --node-rank 1, and so on.")
    if master_port is not None and not 1 <= master_port <= 65535:
        refuse("Invalid value received for --master-port.", "a TCP port, 1 .. 65535, free on node 0", f"--master-port {master_port}",
               "Pass --master-port 29500, for example.")
    check_processes(resolve_config(recipe, set_, resume), nproc * nodes)  # a bad recipe is said once, not by every process
    command = ["run", *([recipe] if recipe else []), *(a for s in set_ for a in ("--set", s)),
               *(["--resume", str(resume)] if resume else []), *(["--quiet"] if quiet else []), *(["--lang", lang] if lang else []),
               *(["--no-report"] if no_report else [])]
    return launch(command, nproc=nproc, nnodes=nodes, node_rank=node_rank or 0, master_addr=master_addr, master_port=master_port)


@app.command()
def run(recipe: Optional[str] = typer.Argument(None, help="recipe name (see `tujie recipes`) or a .yaml file"),
        set_: list[str] = typer.Option([], "--set", help="override a config key: --set epochs=3 (repeatable)"),
        resume: Optional[Path] = typer.Option(None, "--resume", help="continue the run in this directory"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing but errors"),
        lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP),
        no_report: bool = typer.Option(False, "--no-report", help="write no report.html (`tujie report RUN_DIR` builds it later)"),
        nproc: int = typer.Option(1, "--nproc", help="processes on this machine (torchrun, DistributedDataParallel); "
                                  "batch_size is per process"),
        nnodes: Optional[int] = typer.Option(None, "--nnodes", help="machines training together (run the command on each)"),
        node_rank: Optional[int] = typer.Option(None, "--node-rank", help="this machine's number, 0 .. nnodes-1"),
        master_addr: Optional[str] = typer.Option(None, "--master-addr", help="address of the machine with --node-rank 0"),
        master_port: Optional[int] = typer.Option(None, "--master-port", help="a free port on that machine (default 29500)")):
    """Train and test a recipe; writes a run directory with checkpoints, metrics and report.html."""
    from .runner import run as run_recipe
    from .train import distributed

    set_language(lang)
    if nproc != 1 or nnodes is not None or node_rank is not None or master_addr or master_port is not None:
        code = _launch(recipe, set_, resume, quiet, lang, no_report, nproc, nnodes, node_rank, master_addr, master_port)
        if code:
            raise typer.Exit(code)
        return
    with distributed.process_group():  # started by torchrun (--nproc N): join the others; else nothing
        try:
            result = run_recipe(recipe, set_, resume=resume, verbose=0 if quiet or not distributed.is_main() else 1,
                                report=not no_report)
        except TujieError:
            if not distributed.is_main():
                import time

                # every process meets the same bad input: rank 0 says it and torchrun ends this one,
                # so only an error of this process's own is said here
                time.sleep(3)
            raise
    status = result.summary["status"]
    if status == "interrupted":
        raise typer.Exit(130)
    if status != "finished":
        raise typer.Exit(1)


@app.command()
def tune(recipe: str = typer.Argument(..., help="recipe name or .yaml file with a `tune:` section (its search space)"),
         set_: list[str] = typer.Option([], "--set", help="override a config key of every trial: --set epochs=10 (repeatable)"),
         trials: Optional[int] = typer.Option(None, "--trials", help="trials in the whole study, over all workers (default: tune.trials)"),
         sampler: Optional[str] = typer.Option(None, "--sampler", help="grid, random, tpe or gp (default: tune.sampler)"),
         pruner: Optional[str] = typer.Option(None, "--pruner", help="none, median or hyperband (default: tune.pruner)"),
         workers: int = typer.Option(1, "--workers", help="worker processes on this machine, sharing the study"),
         storage: Optional[str] = typer.Option(None, "--storage", help="sqlite:///FILE, postgresql://USER@HOST/DB or journal:FILE "
                                               "(default: a SQLite file in the study's folder)"),
         study: Optional[str] = typer.Option(None, "--study", help="the study's name: workers and machines with one name share it "
                                             "(default: the recipe's name)"),
         seed: Optional[int] = typer.Option(None, "--seed", help="the sampler's seed (default: the recipe's seed; "
                                            "give each machine its own)"),
         heartbeat: int = typer.Option(10, "--heartbeat", help="seconds between a running trial's heartbeats; a trial silent for "
                                       "3 of them is failed and retried"),
         no_report: bool = typer.Option(False, "--no-report", hidden=True, help="join as an extra worker: write no study report"),
         quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing but errors"),
         lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Search hyperparameters with Optuna: every trial a tujie run; writes the study's report (study.html)."""
    from .runner.tuning import tune as run_study

    set_language(lang)
    result = run_study(recipe, set_, trials=trials, sampler=sampler, pruner=pruner, workers=workers, storage=storage,
                       study=study, seed=seed, heartbeat_s=heartbeat, verbose=0 if quiet else 1, report=not no_report)
    if not quiet:
        typer.echo(_("Best: {value}; train it with: {command}").format(value=result.best_value_text, command=result.best_set_line))


@app.command("lr-find")
def lr_find(recipe: str = typer.Argument(..., help="recipe name or .yaml file: its data, model, loss and optimizer are used"),
            set_: list[str] = typer.Option([], "--set", help="override a config key: --set optimizer=sgd (repeatable)"),
            steps: int = typer.Option(100, "--steps", help="learning rates tried, one batch each"),
            output: Path = typer.Option(Path("lr_find.png"), "--output", "-o", help="where to write the plot")):
    """Learning-rate range test: loss against an exponentially growing rate; suggests a learning rate."""
    from ._io import check_output_file, write_bytes
    from .kinds import build_model, load_data
    from .runner import resolve_config
    from .train.lr_finder import lr_find as find
    from .utils import seed_everything

    config = resolve_config(recipe, set_)
    check_output_file(output, "lr_find.png")  # before the minutes of training, not after
    seed_everything(config.seed)
    data = load_data(config)
    o = config.optimizer
    options = {"momentum": o.momentum, "nesterov": o.nesterov} if o.name == "sgd" else {}
    result = find(build_model(config, data), data.train, loss=config.train.loss, optimizer=o.name, num_steps=steps,
                  batch_size=config.train.batch_size, device=config.device, seed=config.seed,
                  weight_decay=o.weight_decay, **options)
    write_bytes(output, result.plot())
    typer.echo(_("Suggested learning rate for {optimizer}: {lr} (the recipe uses {recipe_lr})").format(
        optimizer=o.name, lr=f"{result.suggestion:.3g}", recipe_lr=o.lr))
    typer.echo(_("Plot: {path}").format(path=output))


@app.command()
def predict(run_dir: Path = typer.Argument(..., help="a text-classification run directory (imdb-*, sst2-*)"),
            texts: list[str] = typer.Argument(..., help="one or more texts to classify")):
    """Classify texts with a trained text classifier (its saved tokenizer and best weights)."""
    from .text.classification import TextClassifier

    classifier = TextClassifier.from_run(run_dir)
    for text, result in zip(texts, classifier.predict(texts)):
        shown = text if len(text) <= 60 else text[:57] + "..."
        typer.echo(f"{result['label']:<9} {result['confidence']:.1%}  {shown}")


@app.command()
def translate(run_dir: Path = typer.Argument(..., help="a translation run directory (tatoeba-*, multi30k-*)"),
              sentences: list[str] = typer.Argument(..., help="one or more sentences in the model's source language"),
              beam: int = typer.Option(5, "--beam", help="beam width (1: greedy)"),
              source_lang: Optional[str] = typer.Option(None, "--from", help="the sentences' language; refused if the model reads another")):
    """Translate sentences with a trained translation run (its saved tokenizers and best weights)."""
    from .text.translation import load_translator

    translator = load_translator(run_dir)
    for sentence, text in zip(sentences, translator.translate(sentences, beam=beam, source_lang=source_lang)):
        typer.echo(f"{sentence}  →  {text}")


@app.command()
def recipes():
    """List the built-in recipes, one line each."""
    from .recipes import list_recipes

    items = list_recipes()
    width = max(map(len, items), default=0)
    for name, description in items.items():
        typer.echo(f"{name:<{width}}  {translated(description)}")


@app.command()
def report(run_dir: Path = typer.Argument(..., help="a run directory written by `tujie run`, or a study's folder (tujie tune)"),
           lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Rebuild report.html from a run directory's files (any kind, any tujie version), or a study's study.html."""
    from .kinds import build_report

    set_language(lang)
    if (run_dir / "study.json").is_file():  # a `tujie tune` study's folder
        from .runner.tuning import write_study_report

        typer.echo(_("Study report: {path}").format(path=write_study_report(run_dir)))
        return
    typer.echo(_("Report: {path}").format(path=build_report(run_dir)))


@app.command()
def compare(run_dirs: list[str] = typer.Argument(..., help="two or more run directories; a quoted glob is expanded"),
            output: Optional[Path] = typer.Option(None, "--output", "-o", help="the page to write (default: ./compare.html)"),
            lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Compare runs on one page: curves overlaid, test metrics (best marked), config differences, timings."""
    from .report.compare import compare_runs

    set_language(lang)
    typer.echo(_("Comparison: {path}").format(path=compare_runs(run_dirs, output=output)))


@app.command()
def kinds():
    """List the kinds of run a recipe's `kind:` may name, one line each."""
    from . import kinds as registry

    names = registry.names()
    width = max(map(len, names), default=0)
    for name in names:
        typer.echo(f"{name:<{width}}  {_(registry.get(name).description)}")


@app.command()
def models(pattern: str = typer.Argument("*", help="glob filter, e.g. 'resnet*'")):
    """List the registered models."""
    from . import models as zoo

    names = zoo.list(pattern)
    width = max(map(len, names), default=0)
    for name in names:
        typer.echo(f"{name:<{width}}  {zoo.spec(name).description}")


@app.command()
def datasets():
    """List the registered datasets."""
    from . import data

    for name in data.list():
        typer.echo(name)


@app.command()
def compress(run_dir: Path = typer.Argument(..., help="a trained run directory (its config.yaml and best weights)"),
             method: list[str] = typer.Option([], "--method", "-m", help="a compression method (repeatable; default: every one "
                                              "the recipe's compress: section lists); see docs/compress.md"),
             set_: list[str] = typer.Option([], "--set", help="override a config key: --set compress.finetune_epochs=2 (repeatable)"),
             quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing but errors"),
             lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Compress a trained model (pruning, low-rank, distillation, quantization); writes one compression report."""
    from . import compress_run

    set_language(lang)
    compress_run(run_dir, method, set_, verbose=0 if quiet else 1)  # prints the report's path unless quiet


@app.command()
def export(run_dir: Path = typer.Argument(..., help="a trained run directory (image, tabular or text classifier)"),
           format_: str = typer.Option("onnx", "--format", "-f", help="onnx, torchscript or safetensors"),
           output: Optional[Path] = typer.Option(None, "--output", "-o", help="the folder to write (default: RUN_DIR/export-FORMAT)"),
           check: bool = typer.Option(True, "--check/--no-check", help="onnx: run onnx's checker and compare ONNX Runtime with torch "
                                      "on 1,000 test inputs"),
           quantize: bool = typer.Option(False, "--quantize", help="onnx: also write model.int8.onnx (ONNX Runtime's dynamic int8), "
                                         "kept only if it predicts torch's class on >= 99.9% of the test inputs")):
    """Export a trained model for use outside tujie: ONNX (checked against ONNX Runtime), TorchScript or safetensors."""
    from .deploy.export import export_run

    result = export_run(run_dir, format=format_, output=output, check=check, quantize=quantize)
    typer.echo(result.describe())


@app.command()
def explain(run_dir: Path = typer.Argument(..., help="a trained classifier's run directory (images or text)"),
            method: list[str] = typer.Option([], "--method", "-m", help="ig, saliency, gradcam, occlusion or all (repeatable; "
                                              "default: all)"),
            images: int = typer.Option(6, "--images", help="how many correct predictions and how many mistakes to explain"),
            quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing but errors"),
            lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Explain a trained classifier's test predictions (captum) and add the section to its report."""
    from .kinds import build_report
    from .trust.explain import explain_run

    set_language(lang)
    explain_run(run_dir, methods=tuple(method) or ("all",), images=images, say=None if quiet else typer.echo)
    path = build_report(run_dir)
    if not quiet:
        typer.echo(_("Report: {path}").format(path=path))


@app.command()
def serve(run_dir: Path = typer.Argument(..., help="a trained run directory, or a folder written by `tujie export`"),
          host: str = typer.Option("127.0.0.1", "--host", help="the address to listen on (0.0.0.0: every interface)"),
          port: int = typer.Option(8000, "--port", help="the port to listen on"),
          onnx: bool = typer.Option(False, "--onnx", help="answer with ONNX Runtime instead of torch"),
          max_batch: int = typer.Option(0, "--max-batch", help="dynamic micro-batching: gather up to this many waiting requests "
                                        "into one forward pass (0: off)")):
    """Serve a trained model over HTTP (FastAPI + uvicorn): POST /predict, GET /health, /metadata, /docs, and a page at /."""
    from .deploy.server import serve as run_server

    run_server(run_dir, host=host, port=port, onnx=onnx, max_batch=max_batch)


@app.command()
def generate(run_dir: Path = typer.Argument(..., help="a language-model run directory (tang-poetry-gpt, tang-poetry-lstm, imdb-gpt)"),
             prompt: str = typer.Argument("", help="the beginning to continue (a first line: 床前明月光); empty: the model starts"),
             temperature: float = typer.Option(1.0, "--temperature", "-t", help="below 1: safer, above 1: wilder; <= 0: greedy"),
             top_k: Optional[int] = typer.Option(None, "--top-k", help="sample among the k most likely tokens only"),
             top_p: Optional[float] = typer.Option(None, "--top-p", help="nucleus sampling: the smallest set of tokens "
                                                   "holding this probability, in (0, 1]"),
             repetition_penalty: float = typer.Option(1.0, "--repetition-penalty", help="> 1 discourages repeating tokens"),
             max_new: int = typer.Option(64, "--max-new", help="new tokens per sample (past the block size the window slides)"),
             num: int = typer.Option(1, "--num", "-n", help="how many samples"),
             seed: Optional[int] = typer.Option(None, "--seed", help="the same seed writes the same text"),
             no_cache: bool = typer.Option(False, "--no-cache", help="recompute the whole prefix at every step (slower; "
                                           "the same text)"),
             simplified: bool = typer.Option(False, "--simplified", help="print simplified characters (OpenCC)"),
             lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Write with a trained language model: continue a prompt, sampling with temperature, top-k and top-p."""
    from .lm.runs import generate_from_run

    set_language(lang)
    texts, notes = generate_from_run(run_dir, prompt, max_new=max_new, temperature=temperature, top_k=top_k, top_p=top_p,
                                     repetition_penalty=repetition_penalty, num=num, seed=seed, use_cache=not no_cache,
                                     simplified=simplified or None)
    for note in notes:
        typer.echo(_("Note: {note}").format(note=note), err=True)
    for i, text in enumerate(texts):
        if num > 1:
            typer.echo(f"[{i + 1}]")
        typer.echo(text)


federated_app = typer.Typer(no_args_is_help=True, help="federated learning over the network (Flower): a server and its clients")
app.add_typer(federated_app, name="federated")
RECIPE_HELP = "a federated recipe (mnist-federated) or .yaml file: its data, model and client settings"
ADDRESS_HELP = "host:port of the Flower server (127.0.0.1:8080 on one machine; the server's address on a network)"


@federated_app.command("server")
def federated_server(recipe: str = typer.Argument(..., help=RECIPE_HELP),
                     set_: list[str] = typer.Option([], "--set", help="override a config key (the clients must use the same)"),
                     address: str = typer.Option("127.0.0.1:8080", "--address", help=ADDRESS_HELP),
                     clients: int = typer.Option(3, "--clients", help="clients the first round waits for"),
                     rounds: Optional[int] = typer.Option(None, "--rounds", help="rounds (default: the recipe's federated.rounds)"),
                     min_clients: Optional[int] = typer.Option(None, "--min-clients", help="later rounds go on with at least this "
                                                               "many clients (default: all but one)"),
                     output: Optional[Path] = typer.Option(None, "--output", "-o", help="write each round's log here (JSON)"),
                     lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Run a Flower server: FedAvg over the clients that connect, testing the global model every round."""
    from ._io import check_output_file, write_json
    from .kinds.federated import serve_recipe
    from .runner import resolve_config

    set_language(lang)
    config = resolve_config(recipe, set_)
    if output is not None:
        check_output_file(output, "federated_server.json")
    typer.echo(_("Flower server on {address}: waiting for {clients} clients").format(address=address, clients=clients))
    log = serve_recipe(config, address=address, clients=clients, rounds=rounds, min_clients=min_clients, say=typer.echo)
    if output is not None:
        write_json(output, {"address": address, "clients": clients, "rounds": log})
        typer.echo(_("Round log: {path}").format(path=output))


@federated_app.command("client")
def federated_client(recipe: str = typer.Argument(..., help=RECIPE_HELP),
                     set_: list[str] = typer.Option([], "--set", help="override a config key (the server must use the same)"),
                     address: str = typer.Option("127.0.0.1:8080", "--address", help=ADDRESS_HELP),
                     partition: int = typer.Option(..., "--partition", help="this client's part of the data, 0 to clients-1"),
                     clients: int = typer.Option(3, "--clients", help="how many parts the training set is split into"),
                     split: str = typer.Option("iid", "--split", help="iid, or a Dirichlet α such as 0.1"),
                     disconnect_in_round: Optional[int] = typer.Option(None, "--disconnect-in-round",
                                                                       help="drill: exit abruptly halfway through this round"),
                     lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP)):
    """Run a Flower client: train on this partition whenever the server asks, until it says goodbye."""
    from .kinds.federated import join_recipe
    from .runner import resolve_config

    set_language(lang)
    config = resolve_config(recipe, set_)
    typer.echo(_("Flower client {partition} of {clients}: connecting to {address}").format(
        partition=partition, clients=clients, address=address))
    join_recipe(config, address=address, partition=partition, clients=clients, split=split,
                disconnect_in_round=disconnect_in_round)
    typer.echo(_("Flower client {partition}: the server has finished").format(partition=partition))


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors the user can fix print as one paragraph, not a traceback."""
    try:
        return _main(argv)
    finally:
        set_language(None)  # --lang holds for one command, also when called in-process


def _main(argv: list[str] | None) -> int:
    try:
        code = app(args=argv, standalone_mode=False)  # click returns the code of typer.Exit here
    except TujieError as e:
        typer.secho(_("Error: {message}").format(message=e), fg=typer.colors.RED, err=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except KeyboardInterrupt:
        typer.echo(_("Interrupted."), err=True)
        return 130
    except Exception as e:  # click's usage errors (typer >= 0.20 vendors click as typer._click): duck-typed
        if callable(getattr(e, "show", None)) and isinstance(getattr(e, "exit_code", None), int):
            e.show()
            return e.exit_code
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
