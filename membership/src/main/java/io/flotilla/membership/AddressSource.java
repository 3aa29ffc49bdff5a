package io.flotilla.membership;

import java.io.IOException;
import java.util.List;
import javax.naming.NamingException;

/**
 * Where a {@link Discovery} finds its candidates: a DNS name ({@link JndiDnsResolver}), the Kubernetes API
 * ({@link KubernetesPodSource})
 * (the Kubernetes API). Tests substitute their own.
 *
 * <p>Threading: called by one thread at a time (the membership's lookup thread); it may block up to its timeout.
 */
interface AddressSource {
    /**
     * The addresses listed now, in the order of the answer; empty when the source says there are none (a DNS name
     * that does not exist, which is also what a Kubernetes headless Service with no ready pod answers; no pod).
     *
     * @throws NamingException or {@link IOException} when the lookup itself failed (no answer, a server failure, a
     *     refused certificate): the caller keeps the previous list
     */
    List<StaticAddress> addresses() throws NamingException, IOException;
}
