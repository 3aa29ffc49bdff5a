package io.flotilla.bench;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Main class of the receiver JVM of a channel benchmark; started and stopped by {@link ReceiverProcess}.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.flotilla.bench.ReceiverMain <kind> <maxLifetimeSeconds>}, where
 * kind is {@code stock}, {@code flotilla}, {@code flotilla-inline} (its listener takes {@code PROCESSED} messages on the
 * I/O thread, {@link io.flotilla.MessageListener#inline}) or {@code raw} (a plain TCP echo, {@link RawEchoReceiver}).
 *
 * <p>Protocol, one line per message, UTF-8:
 * <ul>
 *   <li>stdout {@code READY <port> <token>}: listening on 127.0.0.1:port;</li>
 *   <li>stdout {@code P <received>}: progress, at most every {@link #PROGRESS_INTERVAL_NANOS} and only when
 *       the count changed (the sender bounds the data in flight with it);</li>
 *   <li>stdin {@code STATS} → stdout {@code STATS <received> <outOfOrder> <notInSequence> <malformed>};</li>
 *   <li>stdin {@code STOP} or end of stdin (the sender JVM died) → stop the node, print {@code BYE}, exit.</li>
 * </ul>
 * The JVM also exits on its own after {@code maxLifetimeSeconds}, so a lost receiver never outlives a run
 * by much.
 *
 * <p>Threading: the main thread reads commands; one daemon thread reports progress; stdout is a
 * synchronized {@link PrintStream}, so lines never interleave.
 */
public final class ReceiverMain {

    static final long PROGRESS_INTERVAL_NANOS = TimeUnit.MICROSECONDS.toNanos(250);

    private ReceiverMain() {
    }

    /** The receiver of each kind. */
    static PeerReceiver create(String kind, int senderPort) {
        return switch (kind) {
            case "stock" -> new StockTribesReceiver();
            case "flotilla" -> new FlotillaReceiver(senderPort, false);
            case "flotilla-inline" -> new FlotillaReceiver(senderPort, true);
            case "raw" -> new RawEchoReceiver();
            default -> throw new IllegalArgumentException("unknown receiver kind '" + kind
                    + "'; expected stock, flotilla, flotilla-inline or raw");
        };
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ReceiverMain <kind> <maxLifetimeSeconds> <senderPort>");
            System.exit(2);
        }
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        OrderTracker tracker = new OrderTracker();
        PeerReceiver receiver = create(args[0], Integer.parseInt(args[2]));
        int status = 0;
        try {
            out.println("READY " + receiver.start(tracker));
            Thread progress = new Thread(() -> reportProgress(tracker, out, deadline), "bench-receiver-progress");
            progress.setDaemon(true);
            progress.start();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null && !line.equals("STOP"); line = in.readLine()) {
                if (line.equals("STATS")) {
                    out.println("STATS " + tracker.received() + " " + tracker.outOfOrder() + " "
                            + tracker.notInSequence() + " " + tracker.malformed());
                } else {
                    System.err.println("ignored unknown command: " + line);
                }
            }
        } catch (Exception e) {
            e.printStackTrace();
            status = 1;
        } finally {
            try {
                receiver.close();
            } catch (Exception e) {
                e.printStackTrace();
                status = 1;
            }
            out.println("BYE");
        }
        // Tribes leaves non-daemon threads behind; exit explicitly.
        System.exit(status);
    }

    private static void reportProgress(OrderTracker tracker, PrintStream out, long deadline) {
        long reported = -1;
        while (System.nanoTime() < deadline) {
            long now = tracker.received();
            if (now != reported) {
                out.println("P " + now);
                reported = now;
            }
            LockSupport.parkNanos(PROGRESS_INTERVAL_NANOS);
        }
        System.err.println("receiver reached its maximum lifetime; exiting");
        Runtime.getRuntime().halt(3);
    }
}
