package io.flotilla.it;

import static io.flotilla.testing.Await.await;

import io.flotilla.bench.ChildJvm;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Three "hosts" with their own addresses (10.77.0.1-3), each a network namespace joined to a bridge by a veth pair,
 * all inside a private network and mount namespace ({@code unshare --net --mount}) that {@code netns-hosts.sh}
 * builds: the addresses, the bridge and the multicast (TTL 1, on each host's eth0) exist only there, and nothing is
 * routed out. A {@link io.flotilla.bench.ChildNode} JVM runs in each host; taking one host's link down partitions it
 * (both sides remove the other as failed), bringing it up heals it (views converge to all three again).
 *
 * <p>Skipped, with the reason, where {@code unshare}, {@code ip netns} or veth/bridge links are not allowed. The script
 * kills its JVMs by PID and deletes the namespaces on exit; the test closes the script in {@link #stop}, and the
 * private namespaces vanish with it in any case.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NetnsPartitionTest {
    private static final int HOSTS = 3;
    private static final Duration PATIENCE = Duration.ofSeconds(40);

    private Path dir;
    private ChildJvm net;

    @BeforeEach
    void buildHosts() throws IOException {
        dir = Files.createTempDirectory("flotilla-netns-");
        Path script = dir.resolve("netns-hosts.sh");
        try (InputStream in = NetnsPartitionTest.class.getResourceAsStream("netns-hosts.sh")) {
            Files.copy(in, script);
        }
        List<String> unshare = unshareCommand();
        List<String> command = new ArrayList<>(unshare);
        command.addAll(List.of("bash", script.toString(), dir.toString(), Integer.toString(HOSTS)));
        net = ChildJvm.start("netns-hosts", command, Map.of("FLOTILLA_JAVA", ChildJvm.javaBinary(),
                "FLOTILLA_CP", ChildJvm.classPath()));
        try {
            net.await("READY or ERROR", l -> l.equals("READY") || l.startsWith("ERROR"), Duration.ofSeconds(30));
        } catch (AssertionError e) {
            Assumptions.abort("the network namespace script did not come up: " + e.getMessage());
        }
        ChildJvm.Line error = net.find(l -> l.startsWith("ERROR"));
        Assumptions.assumeTrue(error == null, () -> "ip netns / veth / bridge not allowed here (" + error.text()
                + "): multi-host test skipped");
    }

    /**
     * {@code unshare --net --mount} as root, {@code --map-root-user} added otherwise; whichever works here, tried
     * first with {@code ip netns add}, or the test is skipped.
     */
    private static List<String> unshareCommand() {
        String probe = "ip netns add flotilla-probe && ip netns del flotilla-probe";
        for (List<String> candidate : List.of(List.of("unshare", "--net", "--mount"),
                List.of("unshare", "--net", "--mount", "--map-root-user"))) {
            List<String> cmd = new ArrayList<>(candidate);
            cmd.addAll(List.of("bash", "-c", probe));
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                boolean done = p.waitFor(10, TimeUnit.SECONDS);
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (!done) {
                    p.destroyForcibly();
                } else if (p.exitValue() == 0) {
                    return candidate;
                } else {
                    System.out.println(String.join(" ", candidate) + " cannot make namespaces: " + out);
                }
            } catch (IOException e) {
                System.out.println("cannot run unshare: " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        Assumptions.abort("unshare --net --mount with ip netns is not allowed here: multi-host test skipped");
        return List.of();
    }

    @AfterEach
    void stop() throws IOException {
        if (net != null) {
            net.close(); // CLOSE: the script kills its JVMs by PID and deletes the namespaces
        }
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** The view size each host's node printed last, or 0 before its first event. */
    private int viewSize(int host) {
        try {
            Path out = dir.resolve("h" + host + ".out");
            if (!Files.exists(out)) {
                return 0;
            }
            int size = 0;
            for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f[0].equals("EVENT") && (f[1].equals("JOINED") || f[1].equals("LEFT"))) {
                    size = Integer.parseInt(f[4]);
                }
            }
            return size;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String state() {
        StringBuilder b = new StringBuilder();
        for (int h = 1; h <= HOSTS; h++) {
            b.append("h").append(h).append(" view ").append(viewSize(h)).append("; ");
        }
        return b.append("script: ").append(net.lines()).toString();
    }

    private void command(String cmd) {
        long before = System.nanoTime();
        net.command(cmd);
        String[] w = cmd.split(" ");
        String ok = "OK " + w[0] + " " + w[1] + " "; // the script answers "OK start 1 pid 123", "OK link 3 down"
        net.await(ok, l -> (l + " ").startsWith(ok) && net.find(x -> x.equals(l)).nanos() - before >= 0
                || l.startsWith("ERROR"), Duration.ofSeconds(20));
        ChildJvm.Line error = net.find(l -> l.startsWith("ERROR"));
        if (error != null && error.nanos() - before >= 0) {
            throw new AssertionError(cmd + " failed: " + error.text());
        }
    }

    @Test
    void hostWhoseLinkGoesDownIsPartitionedAndRejoinsWhenItComesBack() {
        String cluster = Loopback.uniqueCluster();
        for (int h = 1; h <= HOSTS; h++) {
            command("start " + h + " impl=flotilla cluster=" + cluster + " name=h" + h + " address=10.77.0." + h
                    + " bind=eth0 ttl=1 mcastPort=45564 frequency=" + Loopback.FREQUENCY.toMillis() + " dropTime="
                    + Loopback.DROP_TIME.toMillis() + " connectTimeout=" + Loopback.CONNECT_TIMEOUT.toMillis()
                    + " lifetime=300");
        }
        await("the three hosts see each other", PATIENCE,
                () -> viewSize(1) == 3 && viewSize(2) == 3 && viewSize(3) == 3, this::state);

        command("link 3 down");
        await("h1 and h2 remove h3, and h3 removes them", PATIENCE,
                () -> viewSize(1) == 2 && viewSize(2) == 2 && viewSize(3) == 1, this::state);

        command("link 3 up");
        await("views converge to three members again", PATIENCE,
                () -> viewSize(1) == 3 && viewSize(2) == 3 && viewSize(3) == 3, this::state);
    }
}
