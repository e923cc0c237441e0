"""Jars from Maven Central into a state folder: how the local servers (the Kafka broker, S3Proxy)
are assembled without any download from elsewhere.

`mvn dependency:copy-dependencies` of a project `pom.xml` into `<libs>.partial`, renamed onto
`libs` when complete; a stamp with the pom's SHA-256 makes a second call free while the pom is
unchanged (a changed pom re-assembles).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path


class MavenError(RuntimeError):
    """Maven is missing or could not resolve the jars; the message says which and why."""


def copy_dependencies(pom: Path, libs: Path, what: str) -> Path:
    """The runtime jars of `pom` in `libs` (assembled unless already current); `what` names them
    in error messages ("the Kafka jars", "S3Proxy")."""
    stamp = libs / ".pom.sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenError(
            f"`mvn` is not on PATH: assembling {what} from Maven Central needs Maven (apt-get install maven)"
        )
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise MavenError(f"Maven could not assemble {what} (exit {done.returncode}):\n{tail}")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    stamp.write_text(digest)
    return libs
