package dev.wirebus.client;

/**
 * A durable consumer of a stream as the broker reports it.
 *
 * <pre>{@code
 * for (ConsumerInfo c : client.consumers("blocks").join().consumers()) {
 *     System.out.println(c.name() + " lag " + c.lag());
 * }
 * }</pre>
 *
 * @param name the consumer's name
 * @param ackedSequence the last sequence it acknowledged (0 before the first)
 * @param lag messages appended after its acknowledged position
 * @param maxLag the lag at which it holds publishers back (0: it does not)
 * @param connected whether a subscription of it is open now
 */
public record ConsumerInfo(String name, long ackedSequence, long lag, int maxLag, boolean connected) {
}
