"""A container image definition for a function whose dependencies exceed the zip limit.

No Docker engine runs here, so the image is verified by its file tree: the Dockerfile copies exactly the
tree `deploy.artifact.build_tree` produced (the one the cold start was measured from) into the base
image's task root; the build context is that folder plus the Dockerfile.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from deploy.artifact import IMAGE_LIMIT_BYTES, Tree

BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"  # Amazon Linux 2, the runtime the wheels are built for


def dockerfile(handler: str) -> str:
    return "\n".join([
        f"FROM {BASE_IMAGE}",
        "# the function's tree from `make package`: our code, its platform wheels and compiled bytecode",
        "COPY task/ ${LAMBDA_TASK_ROOT}/",
        f'CMD ["{handler}"]',
        "",
    ])


def write_image_context(tree: Tree, destination: Path) -> Path:
    """dist/<function>-image/{Dockerfile, task/}; raises if the tree exceeds the image limit."""
    size = tree.unzipped_bytes()
    if size > IMAGE_LIMIT_BYTES:
        raise ValueError(f"{tree.function.name}: {size} bytes exceed the container image limit too")
    context = destination / f"{tree.function.name}-image"
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(tree.path, context / "task")
    (context / "Dockerfile").write_text(dockerfile(tree.function.handler))
    return context
