package io.flotilla.membership;

import java.util.List;
import javax.naming.NamingException;

/**
 * Looks up the addresses a {@link DnsMembershipConfig} names. Tests substitute their own.
 *
 * <p>Threading: called by one thread at a time (the membership's {@code dns} thread); it may block up to the lookup
 * timeout.
 */
interface DnsResolver {
    /**
     * The addresses listed now, in the order of the answer; empty when the name does not exist (NXDOMAIN, which is
     * also what a Kubernetes headless Service with no ready pod answers).
     *
     * @throws NamingException when the lookup itself failed (no answer, a server failure): the caller keeps the
     *     previous list
     */
    List<StaticAddress> resolve() throws NamingException;
}
