"""deploy/local/kafka.sh's start detection, with a stand-in for the JVM.

Only the script's own logic is under test here: when does it call a broker started?
The real broker's start and restart are exercised by every integration and end-to-end
test, and its restart after an outage by tests/e2e/test_outage.py.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = "3.9.2"

# Stands in for `java ... kafka.Kafka server.properties`: logs its start the way the
# broker does, then a burst of lines after it (a restarted broker loading many consumer
# groups logs thousands), and only then listens, so the script's first look at the log
# finds the start line followed by far more than a pipe holds.
FAKE_JAVA = textwrap.dedent(
    """\
    #!{python}
    import socket, sys, time
    if "kafka.Kafka" not in sys.argv:
        sys.exit("unexpected java call: " + " ".join(sys.argv))
    with open({log!r}, "a") as log:
        log.write("[t] INFO [KafkaRaftServer nodeId=1] Kafka Server started\\n")
        for i in range(20_000):
            log.write(f"[t] INFO Loaded member MemberMetadata(memberId=c-{{i}}) in group g\\n")
    server = socket.socket()
    server.bind(("127.0.0.1", {port}))
    server.listen()
    time.sleep(120)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kafka_sh(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "deploy" / "local" / "kafka.sh"), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_up_sees_the_start_line_however_much_log_follows_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dist = home / "kafka" / VERSION
    (dist / "libs").mkdir(parents=True)
    pom = ROOT / "deploy" / "local" / "kafka" / "pom.xml"
    # The jars count as resolved and the storage as formatted: no Maven, no real JVM.
    (dist / ".complete").write_text(f"{VERSION} {hashlib.sha256(pom.read_bytes()).hexdigest()}\n")
    (home / "kafka" / "data").mkdir(parents=True)
    (home / "kafka" / "data" / "meta.properties").write_text("")
    port = free_port()
    java = tmp_path / "java"
    java.write_text(
        FAKE_JAVA.format(python=sys.executable, log=str(home / "log" / "kafka.log"), port=port)
    )
    java.chmod(0o755)
    env = {
        **os.environ,
        "CREWLINE_HOME": str(home),
        "CREWLINE_JAVA": str(java),
        "CREWLINE_KAFKA_VERSION": VERSION,
        "CREWLINE_KAFKA_PORT": str(port),
        "CREWLINE_KAFKA_CONTROLLER_PORT": str(free_port()),
        "CREWLINE_KAFKA_START_TIMEOUT": "15",
    }
    try:
        up = kafka_sh("up", env)
        assert up.returncode == 0, up.stderr
        assert f"running on 127.0.0.1:{port}" in up.stderr
    finally:
        down = kafka_sh("down", env)
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stderr
