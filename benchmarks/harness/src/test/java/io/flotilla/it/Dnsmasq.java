package io.flotilla.it;

import io.flotilla.testing.Await;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.naming.Context;
import javax.naming.NamingException;
import javax.naming.directory.InitialDirContext;
import org.junit.jupiter.api.Assumptions;

/**
 * A real DNS server for tests: Debian's {@code dnsmasq} on 127.0.0.1 and a free port, answering only from its own
 * records (no upstream, no system hosts file, nothing cached: {@code --local-ttl=0}, {@code --no-negcache}). SRV
 * records are fixed at start; A records live in files of a hosts directory, which dnsmasq watches (inotify), so a
 * test adds and removes them while the server runs. The binary is installed from Debian's packages
 * ({@code dnsmasq-base}: the program without a system service) when missing and the test runs as root; otherwise the
 * test is skipped with the reason.
 *
 * <p>Threading: one test thread.
 */
final class Dnsmasq implements AutoCloseable {
    /** Every record lives under this zone; names outside it are refused, nothing is forwarded. */
    static final String ZONE = "cluster.test";
    private static final Path BINARY = Path.of("/usr/sbin/dnsmasq");
    /** Starts tried, each on another port, when the port turns out to be taken. */
    private static final int START_ATTEMPTS = 5;

    private final Process process;
    private final Path hostsDir;
    private final int port;

    private Dnsmasq(Process process, Path hostsDir, int port) {
        this.process = process;
        this.hostsDir = hostsDir;
        this.port = port;
    }

    /** The binary, installed with apt-get when missing and allowed; aborts the test (skipped) otherwise. */
    static Path binary() {
        if (Files.isExecutable(BINARY)) {
            return BINARY;
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        Assumptions.assumeTrue(root && Files.isExecutable(Path.of("/usr/bin/apt-get")),
                "dnsmasq is not installed and this test cannot install it (needs root and apt-get): DNS membership "
                        + "test skipped; install it with 'apt-get install dnsmasq-base'");
        try {
            Path log = Files.createTempFile("dnsmasq-apt", ".log");
            Process apt = new ProcessBuilder("sh", "-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive "
                    + "apt-get install -y -q --no-install-recommends dnsmasq-base").redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            boolean done = apt.waitFor(5, TimeUnit.MINUTES);
            if (!done) {
                apt.destroyForcibly();
            }
            Assumptions.assumeTrue(done && apt.exitValue() == 0 && Files.isExecutable(BINARY),
                    "installing dnsmasq-base failed (see " + log + "): DNS membership test skipped");
        } catch (IOException e) {
            Assumptions.abort("cannot run apt-get to install dnsmasq (" + e + "): DNS membership test skipped");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            Assumptions.abort("interrupted while installing dnsmasq");
        }
        return BINARY;
    }

    /**
     * Starts the server with {@code srvRecords} ({@code _service._tcp.cluster.test,target.cluster.test,port} each)
     * and an empty hosts directory, and waits until it answers.
     */
    static Dnsmasq start(Path workDir, List<String> srvRecords) throws IOException, InterruptedException {
        Path binary = binary();
        Path hosts = Files.createDirectories(workDir.resolve("hosts"));
        hosts.toFile().setReadable(true, false); // dnsmasq drops root for nobody; it must still read the files
        hosts.toFile().setExecutable(true, false);
        workDir.toFile().setExecutable(true, false);
        // dnsmasq listens on UDP and TCP: a port free for UDP may be taken for TCP (or be taken between our check
        // and its bind). Such a start fails at once with "Address already in use": try another port, a few times.
        String log = "";
        for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
            int port = freeUdpAndTcpPort();
            List<String> cmd = new ArrayList<>(List.of(binary.toString(), "--keep-in-foreground",
                    "--conf-file=/dev/null", "--port=" + port, "--listen-address=127.0.0.1", "--bind-interfaces",
                    "--no-resolv", "--no-hosts", "--no-negcache", "--local-ttl=0", "--local=/" + ZONE + "/",
                    "--pid-file=", "--log-facility=-", "--hostsdir=" + hosts));
            for (String srv : srvRecords) {
                cmd.add("--srv-host=" + srv);
            }
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(workDir.resolve("dnsmasq.log").toFile()).start();
            Dnsmasq server = new Dnsmasq(p, hosts, port);
            server.put("ready", "127.0.0.1");
            try {
                Await.await("dnsmasq answering on 127.0.0.1:" + port, Duration.ofSeconds(20),
                        () -> !p.isAlive() || server.answers("ready." + ZONE));
            } catch (AssertionError e) {
                server.close();
                throw new IOException(e.getMessage(), e);
            }
            if (p.isAlive()) {
                return server;
            }
            server.close();
            log = Files.readString(workDir.resolve("dnsmasq.log"));
            if (!log.contains("Address already in use")) {
                throw new IOException("dnsmasq did not answer on 127.0.0.1:" + port + " (exit " + p.exitValue()
                        + "); see " + workDir.resolve("dnsmasq.log") + ": " + log);
            }
        }
        throw new IOException("dnsmasq found no free port in " + START_ATTEMPTS + " attempts: " + log);
    }

    /** A loopback port free for both UDP and TCP at this moment. */
    private static int freeUdpAndTcpPort() throws IOException {
        for (int i = 0; i < 50; i++) {
            try (DatagramSocket udp = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
                int port = udp.getLocalPort();
                ServerSocket tcp;
                try {
                    tcp = new ServerSocket(port, 1, InetAddress.getLoopbackAddress());
                } catch (IOException takenForTcp) {
                    continue; // try another
                }
                tcp.close();
                return port;
            }
        }
        throw new IOException("no loopback port free for both UDP and TCP in 50 tries");
    }

    /** {@code 127.0.0.1:port}: the {@code server} setting of a DNS membership. */
    String server() {
        return "127.0.0.1:" + port;
    }

    long pid() {
        return process.pid();
    }

    /** Gives {@code host.cluster.test} these A records (replacing its earlier ones), atomically for dnsmasq. */
    void put(String host, String... addresses) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String a : addresses) {
            sb.append(a).append(' ').append(host).append('.').append(ZONE).append('\n');
        }
        Path tmp = Files.createTempFile(hostsDir.getParent(), host, ".tmp");
        Files.writeString(tmp, sb.toString(), StandardCharsets.US_ASCII);
        tmp.toFile().setReadable(true, false);
        Files.move(tmp, hostsDir.resolve(host), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Removes every A record of {@code host.cluster.test}. */
    void remove(String host) throws IOException {
        Files.deleteIfExists(hostsDir.resolve(host));
    }

    /** Whether {@code name} has an A record on this server now (JNDI, no cache). */
    boolean answers(String name) {
        Hashtable<String, String> env = new Hashtable<>();
        env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.dns.DnsContextFactory");
        env.put(Context.PROVIDER_URL, "dns://127.0.0.1:" + port + "/");
        env.put("com.sun.jndi.dns.timeout.initial", "200");
        env.put("com.sun.jndi.dns.timeout.retries", "1");
        try {
            InitialDirContext ctx = new InitialDirContext(env);
            try {
                return ctx.getAttributes(name, new String[] {"A"}).get("A") != null;
            } finally {
                ctx.close();
            }
        } catch (NamingException e) {
            return false;
        }
    }

    /** Stops the server by its PID: SIGTERM, then SIGKILL after 5 s. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
