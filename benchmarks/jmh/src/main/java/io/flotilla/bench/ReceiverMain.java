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
 * <p>Usage: {@code java -cp benchmarks.jar io.flotilla.bench.ReceiverMain <kind> <maxLifetimeSeconds> <senderPort>
 * <progress>}, where progress is {@code on} or {@code off} and kind is {@code stock}, {@code flotilla},
 * {@code flotilla-inline} (its listener takes {@code PROCESSED} messages on the I/O thread,
 * {@link io.flotilla.MessageListener#inline}) or {@code raw} (a plain TCP echo, {@link RawEchoReceiver}).
 *
 * <p>Protocol, one line per message, UTF-8:
 * <ul>
 *   <li>stdout {@code READY <port> <token>}: listening on 127.0.0.1:port;</li>
 *   <li>stdout {@code P <received>}: progress, at most every {@link #PROGRESS_INTERVAL_NANOS} and only when
 *       the count changed (the sender bounds the data in flight with it), with {@code progress} {@code on} only:
 *       the reporting thread wakes 4,000 times a second, in the JVM being measured and in the sender's reader,
 *       which a benchmark that waits for each answer does not need (at 8 threads it was 13% of the receiver's CPU
 *       samples);</li>
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
        if (args.length != 4 || !args[3].equals("on") && !args[3].equals("off")) {
            System.err.println("usage: ReceiverMain <kind> <maxLifetimeSeconds> <senderPort> <progress: on|off>");
            System.exit(2);
        }
        boolean reporting = args[3].equals("on");
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        OrderTracker tracker = new OrderTracker();
        PeerReceiver receiver = create(args[0], Integer.parseInt(args[2]));
        int status = 0;
        try {
            out.println("READY " + receiver.start(tracker));
            Thread progress = new Thread(() -> reportProgress(tracker, out, deadline, reporting),
                    "bench-receiver-progress");
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

    /** Reports progress if {@code reporting}, and ends the JVM at {@code deadline} either way. */
    private static void reportProgress(OrderTracker tracker, PrintStream out, long deadline, boolean reporting) {
        long reported = -1;
        for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
            long now = tracker.received();
            if (reporting && now != reported) {
                out.println("P " + now);
                reported = now;
            }
            LockSupport.parkNanos(reporting ? PROGRESS_INTERVAL_NANOS : left);
        }
        System.err.println("receiver reached its maximum lifetime; exiting");
        Runtime.getRuntime().halt(3);
    }
}
