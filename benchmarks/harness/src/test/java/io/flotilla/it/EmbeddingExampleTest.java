package io.flotilla.it;

import static io.flotilla.testing.Await.await;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.MulticastMembership;
import io.flotilla.membership.MulticastMembershipConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The "membership + transport in ten lines" example of {@code docs/embedding.md}, compiled and run so it cannot rot:
 * the code between the {@code tag::} and {@code end::} markers below must appear verbatim in that page (checked), and
 * two nodes built with it find each other and exchange a message.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EmbeddingExampleTest {
    private static final Path PAGE = Path.of("..", "..", "docs", "embedding.md");

    private final int mcastPort = Loopback.freeUdpPort();
    private final List<Node> nodes = new ArrayList<>();

    @BeforeAll
    static void multicastOnLoopback() {
        Loopback.assumeMulticastOnLoopback();
    }

    @AfterEach
    void close() {
        Loopback.closeAll(nodes);
    }

    /** Starts one member named {@code name}; what it receives on topic 1 goes to {@code inbox}. */
    static Node start(String name, int mcastPort, Queue<String> inbox) {
        // tag::start[]
        Node node = Node.builder()
                .config(NodeConfig.builder().clusterName("shop").memberName(name).build())
                .transport(NettyTransport.factory(NettyTransportConfig.builder().address("127.0.0.1").port(0).build()))
                .membership(MulticastMembership.factory(MulticastMembershipConfig.builder()
                        .port(mcastPort).bind("lo").ttl(0).build())) // this host only; on a LAN: .bind("eth0")
                .onMembership(event -> System.out.println(name + " sees " + event))
                .onMessage(1, msg -> inbox.add(msg.from().name() + ": " + UTF_8.decode(msg.payload())))
                .start();
        // end::start[]
        return node;
    }

    /** Sends hello to every other member and waits until each one's listener has run. */
    static void hello(Node node) throws Exception {
        // tag::send[]
        node.broadcast(1, UTF_8.encode("hello"), Delivery.PROCESSED).toCompletableFuture().get(5, TimeUnit.SECONDS);
        // end::send[]
    }

    @Test
    void twoEmbeddedNodesFindEachOtherAndTalk() throws Exception {
        Queue<String> aInbox = new ConcurrentLinkedQueue<>();
        Queue<String> bInbox = new ConcurrentLinkedQueue<>();
        Node a = start("a", mcastPort, aInbox);
        nodes.add(a);
        Node b = start("b", mcastPort, bInbox);
        nodes.add(b);
        await("a and b see each other", Loopback.PATIENCE, () -> a.view().size() == 2 && b.view().size() == 2);
        hello(a);
        assertTrue(bInbox.contains("a: hello"), "b got " + bInbox);
        hello(b);
        assertTrue(aInbox.contains("b: hello"), "a got " + aInbox);
    }

    @Test
    void theDocumentationShowsExactlyThisCode() throws IOException {
        String page = Files.readString(PAGE, UTF_8);
        String source = Files.readString(Path.of("src", "test", "java", "io", "flotilla", "it",
                "EmbeddingExampleTest.java"), UTF_8);
        for (String tag : List.of("start", "send")) {
            String snippet = snippet(source, tag);
            assertTrue(page.contains(snippet), PAGE + " must contain the '" + tag + "' snippet verbatim:\n" + snippet);
        }
    }

    /** The lines between {@code // tag::<tag>[]} and {@code // end::<tag>[]}, with their common indent removed. */
    static String snippet(String source, String tag) {
        String begin = "// tag::" + tag + "[]";
        String end = "// end::" + tag + "[]";
        int from = source.indexOf('\n', source.indexOf(begin)) + 1;
        int to = source.lastIndexOf('\n', source.indexOf(end)) + 1;
        List<String> lines = source.substring(from, to).lines().toList();
        int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length())
                .min().orElse(0);
        StringBuilder b = new StringBuilder();
        lines.forEach(l -> b.append(l.isBlank() ? "" : l.substring(indent)).append('\n'));
        return b.toString();
    }
}
