"""The Cockpit process (`js7es cockpit`): follows each registered Controller's event stream over mutual
TLS into the read model of js7es.projections.cockpit, and releases what it has committed."""
