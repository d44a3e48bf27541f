"""`make package`: builds every Lambda function's artifact, checks it against Lambda's limits, measures
its cold start from the unpacked artifact, and writes dist/manifest.json.

    python -m deploy.package [--only api] [--out dist] [--runs 5] [--no-measure]

A function whose tree fits 250 MB unzipped ships as a zip (dist/<fn>-<sha256>.zip, uploaded to the
artifact bucket; Terraform's <fn>_artifact_key names it); one that does not gets a container image
definition (dist/<fn>-image/, pushed to ECR; Terraform's package_type = "Image").
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from deploy.artifact import FUNCTIONS, UNZIPPED_LIMIT_BYTES, Function, build_tree, sha256, write_zip
from deploy.cold_start import measure, unpack
from deploy.dependencies import REPO_ROOT
from deploy.image import write_image_context

MB = 1024 * 1024


def package_function(function: Function, out: Path, work: Path, runs: int, limit: int = UNZIPPED_LIMIT_BYTES) -> dict:
    tree = build_tree(function, work)
    unzipped = tree.unzipped_bytes()
    entry = {"handler": function.handler, "unzipped_bytes": unzipped, "unzipped_limit_bytes": limit,
             "dependencies": {pin.name: tree.installed[pin.name] for pin in tree.pins},
             "fallbacks": tree.fallbacks}
    if unzipped <= limit:
        artifact = write_zip(tree.path, out)
        entry.update(kind="zip", path=artifact.name, sha256=sha256(artifact), zipped_bytes=artifact.stat().st_size)
        task_root = unpack(artifact, work / f"{function.name}-unpacked")
    else:
        context = write_image_context(tree, out)
        entry.update(kind="image", path=context.name)
        task_root = context / "task"
    if runs:
        cold = measure(task_root, function.name, function.module, runs)
        entry["cold_start"] = {"runs": runs, "import_ms": round(cold.import_ms), "first_response_ms": round(cold.first_response_ms),
                               "worst_first_response_ms": round(cold.worst_first_response_ms),
                               "all_payloads_ms": round(cold.all_responses_ms), "process_cpu_ms": round(cold.cpu_ms)}
        entry["cold_start_responses"] = [r.get("statusCode", "ok") if isinstance(r, dict) else "ok"
                                         for r in cold.last_responses]
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(FUNCTIONS), help="comma-separated functions (api,lifecycle)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per cold-start measurement")
    parser.add_argument("--no-measure", action="store_true")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(FUNCTIONS))
    if unknown:
        print(f"unknown function(s) {', '.join(unknown)}; known: {', '.join(FUNCTIONS)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="streamloop-package-") as work:
        for name in names:
            entry = package_function(FUNCTIONS[name], args.out, Path(work), 0 if args.no_measure else args.runs)
            manifest[name] = entry
            size = f"{entry['unzipped_bytes'] / MB:.1f} MB unzipped of {entry['unzipped_limit_bytes'] / MB:.0f} MB"
            print(f"{name}: {entry['kind']} {entry['path']} ({size}"
                  + (f", {entry['zipped_bytes'] / MB:.1f} MB zipped)" if entry["kind"] == "zip" else ")"))
            for dist, change in entry["fallbacks"].items():
                print(f"  {dist}: no manylinux2014 wheel for the pinned version, packaged {change}")
            if "cold_start" in entry:
                c = entry["cold_start"]
                print(f"  cold start: import {c['import_ms']} ms, first response {c['first_response_ms']} ms "
                      f"(worst {c['worst_first_response_ms']} ms), process CPU {c['process_cpu_ms']} ms, {c['runs']} runs")
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
