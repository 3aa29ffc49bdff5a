package io.flotilla.membership;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import javax.naming.Context;
import javax.naming.NameNotFoundException;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;

/**
 * The JDK's own DNS support: the JNDI {@code dns:} provider (module {@code jdk.naming.dns}) asks the configured
 * server, or the system's name servers, for A/AAAA or SRV records on every lookup; it keeps no cache, so a record
 * removed on the server is gone from the next lookup. One case goes through {@link InetAddress} instead: A/AAAA
 * records with no server configured, so the system resolver's search domains and hosts file apply (the short names
 * a Kubernetes pod resolves, such as {@code tomcat}, only exist through its search list); the JVM then caches
 * answers by its policy ({@code networkaddress.cache.ttl}, 30 s by default). A cached address only delays what a
 * lookup sees: it is never a member without a probe.
 *
 * <p>Threading: one lookup at a time, from the membership's {@code dns} thread.
 */
final class JndiDnsResolver implements AddressSource {
    private static final String[] ADDRESS_RECORDS = {"A", "AAAA"};
    private static final String[] SRV_RECORDS = {"SRV"};

    private final DnsMembershipConfig config;
    private final Hashtable<String, String> environment = new Hashtable<>();

    JndiDnsResolver(DnsMembershipConfig config) {
        this.config = config;
        StaticAddress server = config.serverAddress();
        environment.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.dns.DnsContextFactory");
        environment.put(Context.PROVIDER_URL, server == null ? "dns:"
                : "dns://" + (server.host().contains(":") ? "[" + server.host() + "]" : server.host()) + ":"
                        + server.port() + "/");
        // two tries per server, the second waiting twice as long: together the lookup timeout
        long initial = Math.max(1, config.lookupTimeout().toMillis() / 3);
        environment.put("com.sun.jndi.dns.timeout.initial", Long.toString(initial));
        environment.put("com.sun.jndi.dns.timeout.retries", "2");
    }

    @Override
    public List<StaticAddress> addresses() throws NamingException {
        if (config.serverAddress() == null && config.recordType() == DnsMembershipConfig.RecordType.A) {
            return systemResolver();
        }
        DirContext context = new InitialDirContext(environment);
        try {
            if (config.recordType() == DnsMembershipConfig.RecordType.A) {
                return addresses(context, config.name(), config.port());
            }
            List<StaticAddress> out = new ArrayList<>();
            for (String srv : values(context.getAttributes(config.name(), SRV_RECORDS).get("SRV"))) {
                // "priority weight port target", the target a host name ("." when there is no service)
                String[] f = srv.trim().split("\\s+");
                if (f.length != 4 || f[3].equals(".")) {
                    continue;
                }
                int port = parsePort(f[2]);
                String target = f[3].endsWith(".") ? f[3].substring(0, f[3].length() - 1) : f[3];
                if (port > 0) {
                    try {
                        out.addAll(addresses(context, target, port));
                    } catch (NameNotFoundException e) {
                        // a target without an address record: no candidate (a stale SRV record of a removed host)
                        continue;
                    }
                }
            }
            return out;
        } catch (NameNotFoundException e) {
            return List.of();
        } finally {
            context.close();
        }
    }

    private List<StaticAddress> systemResolver() throws NamingException {
        try {
            List<StaticAddress> out = new ArrayList<>();
            for (InetAddress a : InetAddress.getAllByName(config.name())) {
                out.add(new StaticAddress(null, a.getHostAddress(), config.port()));
            }
            return out;
        } catch (UnknownHostException e) {
            // The system resolver does not tell "no such name" from "no answer" (a timeout, a server failure): a
            // failed lookup, which changes nothing. Taken as "nobody listed", it would have every member verified at
            // once and removed on one lost probe; a name that really lists nobody leaves its members to the failure
            // detector, as ever.
            NamingException failed = new NamingException("system resolver: " + e.getMessage());
            failed.initCause(e);
            throw failed;
        }
    }

    private static List<StaticAddress> addresses(DirContext context, String host, int port) throws NamingException {
        List<StaticAddress> out = new ArrayList<>();
        for (String type : ADDRESS_RECORDS) {
            // one query per type: with several, JNDI asks for ANY, which servers may answer minimally (RFC 8482)
            for (String ip : values(context.getAttributes(host, new String[] {type}).get(type))) {
                String literal = AddressLiteral.normalize(ip);
                if (literal != null) { // anything else names no candidate, and is never looked up further
                    out.add(new StaticAddress(null, literal, port));
                }
            }
        }
        return out;
    }

    private static List<String> values(Attribute attribute) throws NamingException {
        List<String> out = new ArrayList<>();
        if (attribute != null) {
            NamingEnumeration<?> e = attribute.getAll();
            while (e.hasMore()) {
                out.add(String.valueOf(e.next()));
            }
        }
        return out;
    }

    private static int parsePort(String text) {
        try {
            int port = Integer.parseInt(text);
            return port >= 1 && port <= 65535 ? port : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
