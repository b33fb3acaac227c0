#!/usr/bin/env bash
# Certificates of a site (packaging/site/README.md, "Certificates and pinning"). Writes, under OUT (default ./secrets):
#   site-cert.pem, site-key.pem, site.pem   the site certificate clients pin (site.pem: both, for HAProxy's crt)
#   nodes-ca.pem  the nodes' certificates, for Prometheus
#   node-N/node-cert.pem, node-N/node-key.pem  for each of the N nodes (mounted as the node's DATA_DIR/tls):
#       termination (default): each node its own certificate; HAProxy trusts exactly that one (ca-file per server)
#       --passthrough:         every node the site certificate and key (the client reaches the nodes themselves)
# and prints the SHA-256 fingerprint to give clients (NodeClient(..., fingerprint=...)).
# Usage: make-certs.sh [--passthrough] [--nodes N] [--name vomid.example.org] [--out DIR]
set -euo pipefail
mode=termination nodes=2 name=vomid.site.internal out=./secrets
while [ $# -gt 0 ]; do
  case "$1" in
    --passthrough) mode=passthrough ;;
    --nodes) nodes=$2; shift ;;
    --name) name=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "make-certs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }
umask 077
mkdir -p "$out"

# A self-signed ECDSA P-256 certificate like the one `vomid serve` makes itself (peer/tls.py), 10 years.
selfsigned() {  # cert key common-name subject-alt-names
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -keyout "$2" -out "$1" -subj "/CN=$3" -addext "subjectAltName=$4" \
    -addext "basicConstraints=critical,CA:FALSE" >/dev/null 2>&1
}

# The site name, HAProxy's service name and (pass-through: every node serves it) each node's name.
sans="DNS:$name,DNS:haproxy,DNS:localhost,IP:127.0.0.1"
for i in $(seq 1 "$nodes"); do sans="$sans,DNS:node-$i"; done
selfsigned "$out/site-cert.pem" "$out/site-key.pem" "$name" "$sans"
cat "$out/site-cert.pem" "$out/site-key.pem" > "$out/site.pem"
for i in $(seq 1 "$nodes"); do
  mkdir -p "$out/node-$i"
  if [ "$mode" = passthrough ]; then
    cp "$out/site-cert.pem" "$out/node-$i/node-cert.pem"
    cp "$out/site-key.pem" "$out/node-$i/node-key.pem"
  else
    # Distinct subjects: HAProxy looks a trust anchor up by subject name.
    selfsigned "$out/node-$i/node-cert.pem" "$out/node-$i/node-key.pem" "node-$i.$name" \
      "DNS:node-$i,DNS:node-$i.$name,DNS:localhost,IP:127.0.0.1"
  fi
done
# Prometheus scrapes every node with this bundle (subjects differ, so each node's certificate is found).
if [ "$mode" = passthrough ]; then cp "$out/site-cert.pem" "$out/nodes-ca.pem"; else cat "$out"/node-*/node-cert.pem > "$out/nodes-ca.pem"; fi
chmod 0644 "$out"/site-cert.pem "$out"/nodes-ca.pem "$out"/node-*/node-cert.pem
fingerprint=$(openssl x509 -in "$out/site-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
echo "site certificate ($mode): $out/site-cert.pem"
echo "pin it in clients: sha256 $fingerprint"
