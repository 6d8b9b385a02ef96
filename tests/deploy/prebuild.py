"""`python -m tests.deploy.prebuild`: build the container tests' images ahead of them (scripts/test starts
it in the background before lint and types when it runs the whole suite).

Cold, the images take minutes (debootstrap, the wheels, three builds); the container tests' fixtures
then found the build lock taken and their workers waited idle for it. Built here first, the fixtures
find the tags (tests/deploy/images.py keys them by content) and build nothing. Without a Docker engine
this says so and ends: the fixtures report what is missing, and a failed build is built (and reported)
again by them."""

from __future__ import annotations

import sys
import time

from tests.deploy.containers import engine_missing
from tests.deploy.images import (
    ImageError,
    build_lock,
    docker_client,
    ensure_broker_image,
    ensure_image,
    ensure_postgres_image,
)
from tests.projections.conftest import tansu_binary


def main() -> int:
    reason = engine_missing()
    if reason is not None:
        print(f"prebuild: no images ({reason})", file=sys.stderr)
        return 0
    started = time.monotonic()
    client = docker_client()
    try:
        with build_lock():
            ensure_image(client)
            ensure_postgres_image(client)
            binary = tansu_binary()
            if binary is not None:
                ensure_broker_image(client, binary)
    except ImageError as e:
        print(f"prebuild: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"prebuild: the container tests' images are ready after {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
