package io.flotilla.transport.netty;

import io.flotilla.ConfigurationException;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Collections;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * Mutual TLS for every connection of a {@link NettyTransport}: TLS 1.3 only, the JDK's provider, each side presents
 * its certificate and checks the other's against its truststore (client authentication is required). There is no
 * host name check: members are addressed by IP and the trust decision is "signed by a CA in the truststore" (or
 * "is one of the certificates in it"), so give the cluster its own CA, or its own self-signed certificates, and
 * never a public CA.
 *
 * <p>Two ways to give the key material, each checked when the object is made (files readable, passwords right,
 * a private key present, at least one trusted certificate), with a message naming the attribute and file:
 * <ul>
 *   <li>{@link #pkcs12}: a PKCS12 keystore with one private key and its chain, and a PKCS12 truststore. Tomcat
 *       attributes {@code tlsKeyStore}, {@code tlsKeyStorePassword}, {@code tlsTrustStore},
 *       {@code tlsTrustStorePassword}.
 *   <li>{@link #pem}: a PEM certificate chain, an unencrypted PKCS#8 PEM private key and a PEM file of trusted
 *       certificates. Tomcat attributes {@code tlsCertificate}, {@code tlsKey}, {@code tlsTrustedCertificates}.
 * </ul>
 *
 * <p>Threading: immutable, safe to share between transports.
 */
public final class TransportTls {
    /** The only protocol offered or accepted. */
    static final String PROTOCOL = "TLSv1.3";

    private final String description;
    private final SslContext server;
    private final SslContext client;

    private TransportTls(String description, SslContext server, SslContext client) {
        this.description = description;
        this.server = server;
        this.client = client;
    }

    /**
     * TLS from PKCS12 files.
     *
     * @throws ConfigurationException naming the attribute whose file cannot be read or whose password is wrong
     */
    public static TransportTls pkcs12(Path keyStore, String keyStorePassword, Path trustStore,
            String trustStorePassword) {
        Objects.requireNonNull(keyStorePassword, "tlsKeyStorePassword");
        Objects.requireNonNull(trustStorePassword, "tlsTrustStorePassword");
        KeyStore keys = load("tlsKeyStore", keyStore, keyStorePassword);
        KeyStore trusted = load("tlsTrustStore", trustStore, trustStorePassword);
        try {
            if (!hasKey(keys)) {
                throw ConfigurationException.invalid("tlsKeyStore", keyStore, "a PKCS12 keystore with a private key "
                        + "entry (this one holds certificates only)");
            }
            if (trusted.size() == 0) {
                throw ConfigurationException.invalid("tlsTrustStore", trustStore,
                        "a PKCS12 truststore with at least one trusted certificate (this one is empty)");
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, keyStorePassword.toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            return new TransportTls("PKCS12 " + keyStore + ", trust " + trustStore,
                    finish(SslContextBuilder.forServer(kmf).trustManager(tmf).clientAuth(ClientAuth.REQUIRE)),
                    finish(SslContextBuilder.forClient().keyManager(kmf).trustManager(tmf)
                            .endpointIdentificationAlgorithm(null)));
        } catch (GeneralSecurityException e) {
            throw new ConfigurationException("tlsKeyStore=" + keyStore + " is invalid: its key cannot be used ("
                    + e.getMessage() + "); is tlsKeyStorePassword also the key's password?");
        }
    }

    /**
     * TLS from PEM files.
     *
     * @throws ConfigurationException naming the attribute whose file cannot be read or used
     */
    public static TransportTls pem(Path certificateChain, Path privateKey, Path trustedCertificates) {
        readable("tlsCertificate", certificateChain);
        readable("tlsKey", privateKey);
        readable("tlsTrustedCertificates", trustedCertificates);
        try {
            return new TransportTls("PEM " + certificateChain + ", trust " + trustedCertificates,
                    finish(SslContextBuilder.forServer(certificateChain.toFile(), privateKey.toFile())
                            .trustManager(trustedCertificates.toFile()).clientAuth(ClientAuth.REQUIRE)),
                    finish(SslContextBuilder.forClient().keyManager(certificateChain.toFile(), privateKey.toFile())
                            .trustManager(trustedCertificates.toFile()).endpointIdentificationAlgorithm(null)));
        } catch (IllegalArgumentException | ConfigurationException e) {
            throw new ConfigurationException("tlsCertificate=" + certificateChain + ", tlsKey=" + privateKey
                    + ", tlsTrustedCertificates=" + trustedCertificates + " are invalid: " + e.getMessage()
                    + " (PEM certificates, and an unencrypted PKCS#8 key: BEGIN PRIVATE KEY)");
        }
    }

    private static SslContext finish(SslContextBuilder b) {
        try {
            return b.sslProvider(SslProvider.JDK).protocols(PROTOCOL).build();
        } catch (SSLException | RuntimeException e) {
            throw new ConfigurationException("TLS settings cannot be used: " + e.getMessage());
        }
    }

    private static void readable(String attribute, Path file) {
        Objects.requireNonNull(file, attribute);
        if (!Files.isReadable(file)) {
            throw ConfigurationException.invalid(attribute, file, "a readable file (it does not exist or this "
                    + "process may not read it)");
        }
    }

    private static KeyStore load(String attribute, Path file, String password) {
        readable(attribute, file);
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password.toCharArray());
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw ConfigurationException.invalid(attribute, file, "a PKCS12 file this password opens ("
                    + e.getMessage() + ")");
        }
    }

    private static boolean hasKey(KeyStore ks) throws GeneralSecurityException {
        for (String alias : Collections.list(ks.aliases())) {
            if (ks.isKeyEntry(alias)) {
                return true;
            }
        }
        return false;
    }

    SslContext server() {
        return server;
    }

    SslContext client() {
        return client;
    }

    /** The files, never the passwords. */
    @Override
    public String toString() {
        return "TransportTls[" + PROTOCOL + ", mutual, " + description + "]";
    }
}
