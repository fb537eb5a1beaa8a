package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import io.netty.buffer.ByteBuf;

import java.util.ArrayList;
import java.util.List;

/**
 * FETCH: reads up to a bounded number of records from a position and answers FETCHED at once
 * (records written straight from the log's buffers), never waiting for new ones.
 */
final class FetchHandler {
    /** Most records one FETCH answers with, and most record bytes (the first record is always sent). */
    static final int MAX_FETCH_MESSAGES = 10_000;
    static final int MAX_FETCH_BYTES = 4 << 20;

    private FetchHandler() {
    }

    static void fetch(ConnectionHandler c, Frame.Fetch f) {
        StreamRegistry.checkName("stream", f.stream());
        if (f.fromSequence() < 1) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "fetch from sequence must be at least 1, was "
                    + f.fromSequence());
        }
        BrokerContext broker = c.broker();
        Stream stream = broker.streams().get(f.stream());
        int max = Math.min(f.maxMessages(), MAX_FETCH_MESSAGES);
        // a FETCHED never exceeds the frame length the broker announced: header, fields, then records
        int maxBytes = Math.min(MAX_FETCH_BYTES, broker.config().maxFrameLength() - FrameCodec.HEADER_LENGTH - 8 - 8 - 4);
        List<StreamLog.Slice> slices = new ArrayList<>();
        // maxMessages 0 reads nothing (not even the retained range is checked): the stream's last sequence
        Stream.ReadStatus status = stream == null || max == 0 ? Stream.ReadStatus.WAITING
                : stream.read(f.fromSequence(), max, maxBytes, slices, null);
        if (status == Stream.ReadStatus.DELETED) {
            throw stream.deletedError("nothing to fetch");
        }
        if (status == Stream.ReadStatus.NOT_RETAINED) {
            throw stream.notRetained(f.fromSequence(), stream.firstSequence());
        }
        long last = stream == null ? 0 : stream.lastSequence();
        int count = 0;
        int bytes = 0;
        for (StreamLog.Slice s : slices) {
            count += s.count();
            bytes += s.bytes();
        }
        ByteBuf buf = c.channel().alloc().buffer(64 + bytes);
        FrameCodec.writeFetchedHeader(buf, f.requestId(), last, f.fromSequence(), count, bytes);
        for (StreamLog.Slice s : slices) {
            s.batch().writeTo(buf, s.from(), s.to());
        }
        c.channel().write(buf);
    }
}
