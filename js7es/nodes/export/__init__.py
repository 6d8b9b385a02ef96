"""The Kafka export as a process: it follows a Controller's committed events and drives the exporter
of js7es/projections/kafka/ (record format, exactly-once resume, checkpoints), in `js7es export kafka`
(command.py) or as a service of the Cockpit (service.py, ``[export.kafka]``: settings.py).

- stream.py: a reader thread follows ``GET /controller/api/event?after=…&timeout=…&heartbeat=…``
  (mutual TLS with the exporter's client certificate) into a bounded queue, reconnecting (to the next
  URI of the `ControllerConnection` in turn) when the Controller is lost; the heartbeat lines tell a
  silent stream from a dead one;
- run.py, `run_export`, the whole loop: it takes what is queued (up to ``--batch`` events) and sends it
  to the broker; while the broker acknowledges that batch, it takes and sends the next one, then
  collects the older batch's acknowledgement (at most two batches in flight); a checkpoint follows
  what is acknowledged, and ``ReleaseEvents(untilEventId)`` to the Controller (release.py) what is
  checkpointed; a broker failure closes the producer and starts over from `KafkaExporter.open()`
  (which re-reads the topic, so nothing is lost or duplicated), after a growing pause (up to 10 s);
  ``EventSeqTorn`` (the Controller released events the topic does not have) and ``UnknownEventId``
  (the topic is ahead of this Controller: another history) end the exporter with exit 1;
- service.py: the Cockpit runs the same `run_export` in a thread per Controller, with its own
  `ReleaseTarget` and an `ExportStatus` for its overview.

The exporter's user must have the permissions ReadState and Command and be listed in the Controller's
``[journal] readers`` (js7es/nodes/config.py): then the Controller keeps journal segments until the
exporter has released them. A user not listed gets ``UnknownJournalReader``: the export goes on, with
a warning, but the Controller may release events before they are exported.
"""
