package io.flotilla.bench;

import io.flotilla.tomcat.FlotillaCluster;
import jakarta.servlet.ServletException;
import java.io.IOException;
import org.apache.catalina.Cluster;
import org.apache.catalina.Container;
import org.apache.catalina.Context;
import org.apache.catalina.Host;
import org.apache.catalina.Valve;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.ha.CatalinaCluster;
import org.apache.catalina.ha.tcp.ReplicationValve;
import org.apache.catalina.valves.ValveBase;

/**
 * Runs a cluster's replication valve for one request, in-process: a real Catalina {@link Request} and
 * {@link Response} built without connector or socket (mapping data: the context {@code /app}; requested session id:
 * the session of the request; decoded URI {@code /app/set}, which the valves' default filter lets through), handed to
 * a new instance of the valve the cluster installs on its Engine, with that valve's defaults:
 * <ul>
 *   <li>stock: {@code org.apache.catalina.ha.tcp.ReplicationValve} with the node's {@code SimpleTcpCluster} (what its
 *       {@code startInternal} would set): after the next valve it calls {@code DeltaManager.requestCompleted(id)}
 *       and {@code SimpleTcpCluster.send(msg)}, which waits for the backup's acknowledgement when
 *       {@code channelSendOptions} is 6 and queues the message when it is 8; with no member it resets the session's
 *       delta request instead;</li>
 *   <li>Flotilla: {@code io.flotilla.tomcat.ReplicationValve}: after the next valve it hands the session's changes
 *       to the engine ({@code FlotillaManager.replicate}) and, with {@code channelSendOptions} 2 or 6, waits for the
 *       backups.</li>
 * </ul>
 * The valve's next valve is the request's session work ({@code work}), in place of the rest of the Engine's pipeline
 * and the servlet. After the valve returns the request is recycled as the connector recycles every request, which
 * ends the session's access ({@code Session.endAccess()}), so the next request on the same session starts clean.
 *
 * <p>Threading: one thread at a time (it owns one request object, as a connector thread does).
 */
final class ReplicationValveDriver {
    /** The URI of every request: the servlet path of {@link BenchTomcat}. */
    static final String URI = "/app/set";

    private final Context context;
    private final Valve valve;
    private final Request request;
    private final Response response;

    /**
     * @param node the node the request runs on (its cluster decides the valve)
     * @param work the session work of the request, run as the replication valve's next valve
     */
    @SuppressWarnings("checkstyle:fullyQualifiedName") // two ReplicationValves (stock, Flotilla) and two Request/Response pairs (Catalina, Coyote)
    ReplicationValveDriver(BenchTomcat node, Valve work) {
        this.context = node.context();
        Container engine = context.getParent().getParent();
        Cluster cluster = engine.getCluster();
        ValveBase v;
        if (cluster instanceof CatalinaCluster stock) {
            ReplicationValve s = new ReplicationValve();
            s.setCluster(stock);
            v = s;
        } else if (cluster instanceof FlotillaCluster) {
            v = new io.flotilla.tomcat.ReplicationValve();
        } else {
            throw new IllegalArgumentException("node has no cluster: " + cluster);
        }
        v.setContainer(engine);
        v.setNext(work);
        this.valve = v;
        this.request = new Request(null);
        this.response = new Response();
        org.apache.coyote.Request coyoteRequest = new org.apache.coyote.Request();
        coyoteRequest.requestURI().setString(URI);
        coyoteRequest.decodedURI().setString(URI);
        coyoteRequest.setMethod("GET");
        org.apache.coyote.Response coyoteResponse = new org.apache.coyote.Response();
        coyoteRequest.setResponse(coyoteResponse);
        request.setCoyoteRequest(coyoteRequest);
        response.setCoyoteResponse(coyoteResponse);
        request.setResponse(response);
        response.setRequest(request);
    }

    /** One request on session {@code sessionId}: the work, then the valve's end-of-request replication. */
    void run(String sessionId) throws IOException, ServletException {
        request.getMappingData().context = context;
        request.getMappingData().host = (Host) context.getParent();
        request.setRequestedSessionId(sessionId);
        try {
            valve.invoke(request, response);
        } finally {
            request.recycle();
        }
    }
}
