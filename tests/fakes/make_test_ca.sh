#!/usr/bin/env bash
# Makes a throwaway test CA and a loopback leaf certificate signed by it (CA:FALSE, serverAuth,
# SAN IP:127.0.0.1 + DNS:localhost): rustls rejects a self-signed CA used as a leaf.
# usage: make_test_ca.sh DIR   -> DIR/ca.pem, DIR/leaf.pem, DIR/leaf.key
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
  -subj "/CN=atmos test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 \
  -extfile leaf.ext 2>/dev/null
rm -f leaf.csr leaf.ext ca.srl ca.key
