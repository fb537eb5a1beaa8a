package dev.wirebus.server.internal;

/**
 * The rule a {@link PublishGate} applies: whether more records keep every gating durable consumer
 * within its maximum lag. {@link ConsumerStates} is the local implementation; a store whose consumer
 * positions live elsewhere would answer from there. Called under the stream's lock.
 */
public interface LagLimit {
    /** Never holds a publish. */
    LagLimit NONE = new LagLimit() {
        @Override
        public boolean allows(long lastSequence, int count) {
            return true;
        }

        @Override
        public String describe(long lastSequence) {
            return "";
        }
    };

    /** Whether {@code count} records appended after {@code lastSequence} keep every consumer within its lag. */
    boolean allows(long lastSequence, int count);

    /** Names the consumers that hold publishes back now, for error messages ("" when none). */
    String describe(long lastSequence);
}
