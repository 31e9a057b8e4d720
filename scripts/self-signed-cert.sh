#!/usr/bin/env bash
# A self-signed certificate for a trial of the compose setup: scripts/self-signed-cert.sh HOST [DIR]
# writes DIR/fullchain.pem and DIR/privkey.pem (default DIR: deploy/certs), valid 397 days for HOST.
set -euo pipefail
host=${1:?usage: $0 HOST [DIR]}
dir=${2:-"$(dirname "$0")/../deploy/certs"}
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 397 -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
  -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null
chmod 600 "$dir/privkey.pem"
echo "wrote $dir/fullchain.pem and $dir/privkey.pem for $host"
