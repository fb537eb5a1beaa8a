package dev.wirebus.bench;

/** The two ways a client reaches the broker. */
enum Transport {
    UDS("uds"), TCP("tcp");

    final String label;

    Transport(String label) {
        this.label = label;
    }

    @Override
    public String toString() {
        return label;
    }
}
