"""Scaling past one process and one device: `keras-ext train` alone, on two local devices, and as
two processes on 127.0.0.1, on TensorFlow and JAX.

Every configuration trains the same job (SimpleCNN on the built-in digits,
global batch 64, `--epochs` epochs, seed 0) through the command line, in
fresh processes, and reads OUTPUT/metrics.json: images per second over the
epochs after the first (the first holds tracing and compilation), the final
training loss and the validation accuracy.

    python benchmarks/scaling.py                       # every configuration, 8 epochs
    python benchmarks/scaling.py --configs tf-1 tf-2proc --epochs 3

Configurations: tf-1 (one process, default strategy), tf-2proc
(MultiWorkerMirroredStrategy, two processes, TF_CONFIG), jax-1, jax-2dev
(DataParallel over two CPU devices of one process, XLA_FLAGS), jax-2proc
(DataParallel over two processes, KERAS_DISTRIBUTION_*). TensorFlow's two
local devices need `split_cpu` before TensorFlow starts, which the command
line does not offer; tests/training/test_trainer_tf_data.py covers them.

On a machine with 2 CPU cores, two processes share the cores one process
already uses: the point is that the distributed runs train correctly (a
final loss near the single run's) and what their overhead is, not a
speed-up. Writes benchmarks/results/scaling/<machine>.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = ("tf-1", "tf-2proc", "jax-1", "jax-2dev", "jax-2proc")
CLI = [sys.executable, "-m", "keras_ext.cli.main"]


def _process_envs(config):
    """One environment per process of the configuration."""
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    base["KERAS_BACKEND"] = "jax" if config.startswith("jax") else "tensorflow"
    if config == "jax-2dev":
        base["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    if not config.endswith("2proc"):
        return [base]
    from keras_ext.distribute import local_cluster

    cluster_envs = (
        local_cluster.tf_config_envs(2)
        if config.startswith("tf")
        else local_cluster.keras_distribution_envs(2)
    )
    return [{**base, **env} for env in cluster_envs]


def run_config(config, args, workdir):
    strategy = {"1": "default", "2dev": "mirrored", "2proc": "multiworker"}[config.split("-")[1]]
    output = os.path.join(workdir, config)
    command = [
        *CLI,
        "train",
        "--strategy",
        strategy,
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--verbose",
        "0",
        "--seed",
        "0",
    ]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*command, "--output", output if i == 0 else f"{output}-{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i, env in enumerate(_process_envs(config))
    ]
    try:
        outputs = [proc.communicate(timeout=args.timeout)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.perf_counter() - started
    for proc, out in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"{config} failed ({proc.returncode}):\n{out[-3000:]}")
    with open(os.path.join(output, "metrics.json")) as f:
        metrics = json.load(f)
    return summarize(config, metrics, wall)


def summarize(config, metrics, wall):
    train_images = metrics["train_images_per_epoch"]
    later = metrics["epoch_seconds"][1:]
    return {
        "config": config,
        "distribution": metrics["distribution"],
        "epoch_seconds": metrics["epoch_seconds"],
        "images_per_second": train_images / statistics.median(later) if later else None,
        "final_loss": metrics["history"]["loss"][-1],
        "val_accuracy": metrics["validation"]["accuracy"],
        "command_seconds": round(wall, 2),
    }


def environment():
    import importlib.metadata as md

    versions = {}
    for name in ("keras", "tensorflow-cpu", "tensorflow", "jax", "numpy"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "versions": versions,
        "load_average_before": os.getloadavg(),
    }


def format_table(rows):
    lines = [
        f"{'config':10} {'replicas':>8} {'processes':>9} {'images/s':>9} {'final loss':>10} {'val acc':>8}"
    ]
    for r in rows:
        d = r["distribution"]
        lines.append(
            f"{r['config']:10} {d['replicas']:>8} {d['processes']:>9} {r['images_per_second']:>9.0f} "
            f"{r['final_loss']:>10.4f} {r['val_accuracy']:>8.4f}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--output", default="benchmarks/results/scaling/cpu.json")
    args = parser.parse_args(argv)
    env = environment()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for config in args.configs:
            rows.append(run_config(config, args, workdir))
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    env["load_average_after"] = os.getloadavg()
    print(format_table(rows))
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(
            {"environment": env, "epochs": args.epochs, "batch_size": args.batch_size, "results": rows},
            f,
            indent=2,
        )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
