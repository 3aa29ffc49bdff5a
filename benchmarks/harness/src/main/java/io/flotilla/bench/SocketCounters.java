package io.flotilla.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What the kernel counted on the TCP connections to or from a set of ports on this machine: for each established
 * socket, the payload bytes it sent ({@code bytes_sent}) and the segments with data it sent ({@code data_segs_out}),
 * from {@code ss -tinH} (Linux {@code tcp_info}, no privilege needed). Both ends of a loopback connection are on this
 * machine, so the sum over the sockets whose local or peer port is in the set is the traffic of both directions:
 * messages and their acknowledgements, whatever program sent them. A segment is one write the kernel sent on its own
 * (loopback's 64 KiB MTU keeps a small message in one segment; writes flushed together may share one).
 *
 * <p>Threading: immutable; {@link #read} runs {@code ss} in the caller's thread.
 */
final class SocketCounters {
    private static final Pattern BYTES = Pattern.compile("\\bbytes_sent:(\\d+)");
    private static final Pattern SEGMENTS = Pattern.compile("\\bdata_segs_out:(\\d+)");
    private static final long WAIT_SECONDS = 10;

    /** Bytes and data segments one socket sent, keyed by its local and peer address. */
    private final Map<String, long[]> sockets;

    private SocketCounters(Map<String, long[]> sockets) {
        this.sockets = Map.copyOf(sockets);
    }

    /** The counters of every established TCP socket whose local or peer port is one of {@code ports}. */
    static SocketCounters read(Collection<Integer> ports) {
        String filter = ports.stream().map(p -> "sport = :" + p + " or dport = :" + p)
                .collect(Collectors.joining(" or ", "( ", " )"));
        List<String> cmd = List.of("ss", "-tinH", "state", "established", filter);
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(WAIT_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("ss failed: " + cmd);
            }
            return parse(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd + " (iproute2's ss is needed)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running ss", e);
        }
    }

    /**
     * Parses {@code ss -tinH state established} output: a socket line ({@code Recv-Q Send-Q local peer}), then an
     * indented line of its {@code tcp_info}; a counter the kernel left out is 0.
     */
    static SocketCounters parse(String ssOutput) {
        Map<String, long[]> sockets = new HashMap<>();
        String socket = null;
        for (String line : ssOutput.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (!Character.isWhitespace(line.charAt(0))) {
                String[] f = line.trim().split("\\s+");
                socket = f.length >= 4 ? f[2] + " " + f[3] : null;
            } else if (socket != null) {
                sockets.put(socket, new long[] {counter(BYTES, line), counter(SEGMENTS, line)});
                socket = null;
            }
        }
        return new SocketCounters(sockets);
    }

    private static long counter(Pattern p, String line) {
        Matcher m = p.matcher(line);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /** Sockets seen. */
    int sockets() {
        return sockets.size();
    }

    /**
     * Bytes and data segments sent since {@code before} ({@code [bytes, segments]}), summed over the sockets: a socket
     * opened since counts from zero; one closed since is not seen (the connections of a cluster stay open).
     */
    long[] since(SocketCounters before) {
        long[] sum = new long[2];
        for (Map.Entry<String, long[]> e : sockets.entrySet()) {
            long[] was = before.sockets.getOrDefault(e.getKey(), new long[2]);
            for (int i = 0; i < 2; i++) {
                sum[i] += Math.max(0, e.getValue()[i] - was[i]);
            }
        }
        return sum;
    }

    @Override
    public String toString() {
        List<String> s = new ArrayList<>();
        sockets.forEach((k, v) -> s.add(k + " bytes=" + v[0] + " segments=" + v[1]));
        return s.toString();
    }
}
