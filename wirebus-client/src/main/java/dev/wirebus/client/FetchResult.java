package dev.wirebus.client;

import java.util.List;

/**
 * A page of a stream's history read with {@link WirebusClient#fetch}: the messages from the
 * sequence asked for, in order and without gaps, and the stream's last sequence at the time.
 *
 * <pre>{@code
 * long from = 1;
 * FetchResult page;
 * do {
 *     page = client.fetch("chat", from, 500).join();
 *     page.messages().forEach(m -> show(m.payloadAsString()));
 *     from = page.nextSequence();
 * } while (!page.atEnd());
 * }</pre>
 *
 * @param stream the stream read
 * @param fromSequence the sequence asked for; the first message's sequence when there is one
 * @param messages the messages, consecutive from {@code fromSequence}
 * @param lastSequence the stream's last sequence when it was read (0 for an empty stream)
 */
public record FetchResult(String stream, long fromSequence, List<Message> messages, long lastSequence) {
    public FetchResult {
        messages = List.copyOf(messages);
    }

    /** The sequence to fetch from next. */
    public long nextSequence() {
        return fromSequence + messages.size();
    }

    /** Whether this page reached the stream's last sequence as it was then. */
    public boolean atEnd() {
        return nextSequence() > lastSequence;
    }
}
