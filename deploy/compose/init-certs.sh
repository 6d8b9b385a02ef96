#!/bin/sh
# The init service of deploy/compose/cluster.yaml: a private CA and one certificate per node, made once.
#
#   init-certs.sh NODE...
#
# NODE is a compose service name: the certificate's CN (peers map it to a user) and its DNS name; every
# certificate also names localhost and 127.0.0.1 (the image's health check, `docker compose exec`).
# The CA (ca.crt, ca.key) goes to $JS7ES_CA_DIR, a volume that only this service mounts; each node's
# node.crt, node.key and ca.crt to $JS7ES_CERTS_DIR/NODE. Existing certificates are kept, so a restart
# changes nothing; all are issued anew when the CA is new. $JS7ES_CERT_HOSTS (space-separated) adds
# host names to every new certificate, e.g. the name a browser reaches the Cockpit at.
set -eu
set -f  # no globbing of the host names below

ca_dir=${JS7ES_CA_DIR:-/var/lib/js7es-ca}
certs_dir=${JS7ES_CERTS_DIR:-/etc/js7es/certs}

if [ "$#" -eq 0 ]; then
    echo "usage: $0 NODE..." >&2
    exit 2
fi

force=""
if [ ! -f "$ca_dir/ca.crt" ] || [ ! -f "$ca_dir/ca.key" ]; then
    js7es certs init-ca --dir "$ca_dir" --name "js7es compose CA" --force
    force="--force"
fi

for node in "$@"; do
    if [ -z "$force" ] && [ -f "$certs_dir/$node/node.crt" ] && [ -f "$certs_dir/$node/node.key" ]; then
        echo "Kept the certificate of $node ($certs_dir/$node)"
        continue
    fi
    hosts="--host $node --host localhost --host 127.0.0.1"
    for host in ${JS7ES_CERT_HOSTS:-}; do
        hosts="$hosts --host $host"
    done
    # $hosts and $force are split into words on purpose (no host name has a blank; globbing is off).
    # shellcheck disable=SC2086
    js7es certs node "$node" --ca "$ca_dir" --out "$certs_dir/$node" $hosts $force
done
