"""The Kafka export of the Controller's event stream (ARCHITECTURE §8), free of process concerns:

- records.py: the record of one event (value, key, partition, headers) and the exporter's checkpoint;
- encoder.py: `EnvelopeEncoder`, the record values (Avro single-object encoding), fast;
- exporter.py: `KafkaExporter`, exactly once and without a gap across crashes (the resume algorithm);
- consumer.py: reading the topic back (`decode`, `read_events`), re-exported here.

The process that follows a Controller and drives the exporter — `js7es export kafka`, or the Cockpit's
``[export.kafka]`` — is js7es/nodes/export/.
"""

from js7es.journal.avro import AvroCodecError
from js7es.projections.kafka.consumer import decode, decode_value, event_id_of, read_events
from js7es.projections.kafka.records import CHECKPOINT_SUFFIX, HEADER_EVENT_ID, HEADER_TYPE

__all__ = [
    "CHECKPOINT_SUFFIX",
    "HEADER_EVENT_ID",
    "HEADER_TYPE",
    "AvroCodecError",
    "decode",
    "decode_value",
    "event_id_of",
    "read_events",
]
