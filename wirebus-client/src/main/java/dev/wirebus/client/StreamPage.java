package dev.wirebus.client;

import java.util.List;

/**
 * A page of {@link WirebusClient#streams(String, int)}, in name order; {@code more} when streams
 * after the last one exist (ask again with {@code after} = the last name).
 *
 * <pre>{@code
 * String after = "";
 * StreamPage page;
 * do {
 *     page = client.streams(after, 100).join();
 *     page.streams().forEach(s -> System.out.println(s.name() + " " + s.bytes()));
 *     after = page.lastName();
 * } while (page.more());
 * }</pre>
 */
public record StreamPage(List<StreamInfo> streams, boolean more) {
    public StreamPage {
        streams = List.copyOf(streams);
    }

    /** The name of the last stream of the page ("" when empty): the {@code after} of the next page. */
    public String lastName() {
        return streams.isEmpty() ? "" : streams.get(streams.size() - 1).name();
    }
}
