package io.flotilla.bench;

import java.util.List;
import java.util.Locale;
import org.apache.catalina.tribes.io.XByteBuffer;

/**
 * Prints the bytes on the wire of each {@link DeltaCase} for each codec, one line per figure, in the
 * harness format {@link ResultsTable} reads: {@code <metric> <impl> <value>}, e.g.
 * {@code delta.integer.bytes stock 773}. Lines starting with {@code #} are comments (a breakdown for people).
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.flotilla.bench.WireSizes}
 * ({@code ./bench.sh} does, into {@code benchmarks/results/<mode>-harness.txt}).
 *
 * <p>Threading: a program; single-threaded.
 */
public final class WireSizes {

    private WireSizes() {
    }

    /** Every codec measured. */
    static List<DeltaCodec> codecs() {
        return List.of(new StockDeltaCodec(), new FlotillaDeltaCodec());
    }

    public static void main(String[] args) throws Exception {
        StockTribes.quietLogging();
        for (DeltaCodec codec : codecs()) {
            for (DeltaCase c : DeltaCase.values()) {
                var attributes = c.attributes();
                byte[] wire = codec.encode(attributes);
                if (codec.decode(wire) != attributes.size()) {
                    throw new IllegalStateException(codec.impl() + " " + c.id() + " does not decode back");
                }
                if (codec instanceof StockDeltaCodec stock) {
                    byte[] delta = StockDeltaCodec.deltaRequestBytes(attributes);
                    int message = XByteBuffer
                            .serialize(stock.sessionMessage(delta)).length;
                    System.out.printf(Locale.ROOT, "# stock %s: DeltaRequest.serialize() %d B, serialized SessionMessageImpl %d B,"
                            + " wire (ChannelData + framing) %d B%n", c.id(), delta.length, message, wire.length);
                }
                System.out.println("delta." + c.id() + ".bytes " + codec.impl() + " " + wire.length);
            }
        }
    }
}
