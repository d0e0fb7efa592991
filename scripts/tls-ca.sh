#!/usr/bin/env bash
# Makes the certificates the local services use for TLS, with openssl, into a folder (idempotent:
# what exists is kept, so servers started earlier keep trusting the same CA).
#
#   scripts/tls-ca.sh DIR
#
# DIR gets:
#   ca.pem, ca.key              a CA made here ("WorkerFleet local CA"), valid 825 days
#   server.pem, server.key      signed by it, for DNS name `localhost` only (no IP address), so a
#                               client that checks host names accepts `localhost` and refuses
#                               `127.0.0.1`: that is the wrong-host-name case of the tests
#   client.pem, client.key      signed by it, CN `fleet`, for servers that ask for a client certificate
#   wrong-ca.pem, wrong-ca.key  another CA, which signed nothing here: the wrong-CA case of the tests
# Keys are RSA 2048, mode 0600; certificates 0644. Nothing here is a secret of any real deployment.
set -euo pipefail

dir="${1:?usage: tls-ca.sh DIR}"
mkdir -p "$dir"
cd "$dir"
days=825

new_ca() { # NAME SUBJECT
    [[ -f "$1.pem" && -f "$1.key" ]] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$1.key" -out "$1.pem" 2>/dev/null
}

new_leaf() { # NAME SUBJECT EXTENSIONS
    [[ -f "$1.pem" && -f "$1.key" ]] && return 0
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

new_ca ca "/CN=WorkerFleet local CA"
new_ca wrong-ca "/CN=WorkerFleet wrong CA"
new_leaf server "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost"
new_leaf client "/CN=fleet" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
chmod 600 ./*.key
chmod 644 ./*.pem
