/**
 * End-to-end load programs for wirebus: publish latency and throughput, publish-to-delivery,
 * request/reply and fan-out, over Unix domain sockets and TCP, against an embedded broker, a broker
 * in its own JVM, or a running one. Run {@code bench/run.sh --help}; see {@code bench/README.md}.
 */
package dev.wirebus.bench;
