#!/bin/sh
# How the test certificates here were made (run again to replace them; valid for 100 years):
# a CA, a broker certificate for localhost / 127.0.0.1 signed by it, and an unrelated CA that
# must NOT be trusted by a client expecting the first one. Test-only keys: never use them elsewhere.
set -e
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=wirebus test CA" -keyout ca.key -out ca.pem
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key.pkcs1 -out broker.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 -extfile ext.cnf -out broker.pem
openssl pkcs8 -topk8 -nocrypt -in broker.key.pkcs1 -out broker.key
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=some other CA" -keyout other-ca.key -out other-ca.pem
rm -f broker.csr ext.cnf broker.key.pkcs1 ca.key other-ca.key ca.srl
