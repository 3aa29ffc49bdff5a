package io.flotilla.transport.netty;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates made at test time with the JDK's {@code keytool} (and {@code openssl} for PEM keys, when present):
 * nothing is checked in. Each call runs a bounded process that the method waits for.
 */
final class TestCertificates {
    static final String PASSWORD = "test-password";

    private final Path dir;

    TestCertificates(Path dir) {
        this.dir = dir;
    }

    /** The keytool of the running JVM, or null when this JVM has none. */
    static Path keytool() {
        Path k = Path.of(System.getProperty("java.home"), "bin", "keytool");
        return Files.isExecutable(k) ? k : null;
    }

    /** A PKCS12 keystore {@code name.p12} with a new self-signed EC key, and its certificate {@code name.pem}. */
    Path keyStore(String name) throws IOException, InterruptedException {
        Path ks = dir.resolve(name + ".p12");
        run(keytool().toString(), "-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=" + name + ",O=Flotilla test", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", ks.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
        run(keytool().toString(), "-exportcert", "-rfc", "-alias", name, "-keystore", ks.toString(), "-storepass",
                PASSWORD, "-file", dir.resolve(name + ".pem").toString());
        return ks;
    }

    /** A PKCS12 truststore {@code name.p12} holding the certificates of {@code trusted} (made by keyStore). */
    Path trustStore(String name, String... trusted) throws IOException, InterruptedException {
        Path ts = dir.resolve(name + ".p12");
        for (String t : trusted) {
            run(keytool().toString(), "-importcert", "-noprompt", "-alias", t, "-file",
                    dir.resolve(t + ".pem").toString(), "-keystore", ts.toString(), "-storetype", "PKCS12",
                    "-storepass", PASSWORD);
        }
        return ts;
    }

    /** The unencrypted PKCS#8 PEM key of keystore {@code name}, via openssl; null when openssl is missing. */
    Path pemKey(String name) throws IOException, InterruptedException {
        Path out = dir.resolve(name + "-key.pem");
        try {
            run("openssl", "pkcs12", "-in", dir.resolve(name + ".p12").toString(), "-nocerts", "-nodes",
                    "-passin", "pass:" + PASSWORD, "-out", out.toString());
        } catch (IOException e) {
            return null;
        }
        // Keep only the key block: openssl prints bag attributes before it.
        String pem = Files.readString(out, StandardCharsets.US_ASCII);
        int start = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        if (start < 0) {
            return null;
        }
        Files.writeString(out, pem.substring(start), StandardCharsets.US_ASCII);
        return out;
    }

    Path file(String name) {
        return dir.resolve(name);
    }

    private void run(String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("tool.log").toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + cmd.get(0));
        }
        if (p.exitValue() != 0) {
            throw new IOException(cmd.get(0) + " " + cmd.get(1) + " failed (" + p.exitValue() + "): "
                    + Files.readString(dir.resolve("tool.log")));
        }
    }
}
