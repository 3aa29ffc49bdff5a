package io.flotilla;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterSecretTest {
    private static final String GOOD = "k3Jx9-pQ2v_Lm8Zr";
    private static final byte[] DATA = "datagram".getBytes(StandardCharsets.UTF_8);

    @Test
    void theSameSecretFromEverySourceGivesTheSameKeys(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("secret");
        Files.writeString(file, "  " + GOOD + "\nsecond line is ignored\n");
        byte[] a = ClusterSecret.fromString(GOOD).newMac(ClusterSecret.Purpose.TRANSPORT).doFinal(DATA);
        byte[] b = ClusterSecret.fromFile(file).newMac(ClusterSecret.Purpose.TRANSPORT).doFinal(DATA);
        byte[] c = ClusterSecret.fromEnvironment("FLOTILLA_SECRET", Map.of("FLOTILLA_SECRET", GOOD))
                .newMac(ClusterSecret.Purpose.TRANSPORT).doFinal(DATA);
        assertArrayEquals(a, b);
        assertArrayEquals(a, c);
        assertEquals(ClusterSecret.TAG_BYTES, a.length);
    }

    @Test
    void eachPurposeAndEachSecretHasItsOwnKey() {
        ClusterSecret s = ClusterSecret.fromString(GOOD);
        byte[] transport = s.newMac(ClusterSecret.Purpose.TRANSPORT).doFinal(DATA);
        byte[] membership = s.newMac(ClusterSecret.Purpose.MEMBERSHIP).doFinal(DATA);
        byte[] other = ClusterSecret.fromString(GOOD + "x").newMac(ClusterSecret.Purpose.TRANSPORT).doFinal(DATA);
        assertFalse(Arrays.equals(transport, membership));
        assertFalse(Arrays.equals(transport, other));
    }

    @Test
    void weakOrMissingSecretsAreRefusedNamingTheSourceNeverTheValue(@TempDir Path dir) throws IOException {
        ConfigurationException shortOne = assertThrows(ConfigurationException.class,
                () -> ClusterSecret.fromString("changeme"));
        assertTrue(shortOne.getMessage().startsWith("the secret attribute is invalid: the secret has 8 characters"),
                shortOne.getMessage());
        assertFalse(shortOne.getMessage().contains("changeme"));
        ConfigurationException uniform = assertThrows(ConfigurationException.class,
                () -> ClusterSecret.fromString("abababababababababab"));
        assertTrue(uniform.getMessage().contains("only 2 distinct characters"), uniform.getMessage());
        ConfigurationException unset = assertThrows(ConfigurationException.class,
                () -> ClusterSecret.fromEnvironment("NOPE", Map.of()));
        assertEquals("secretEnv NOPE is invalid: the environment variable is not set", unset.getMessage());
        Path missing = dir.resolve("missing");
        ConfigurationException noFile = assertThrows(ConfigurationException.class,
                () -> ClusterSecret.fromFile(missing));
        assertTrue(noFile.getMessage().startsWith("secretFile " + missing + " cannot be read"), noFile.getMessage());
        Path big = dir.resolve("big");
        Files.write(big, new byte[5000]);
        assertThrows(ConfigurationException.class, () -> ClusterSecret.fromFile(big));
    }

    @Test
    void neverPrintsTheValue() {
        ClusterSecret s = ClusterSecret.fromString(GOOD);
        assertFalse(s.toString().contains(GOOD));
        NodeConfig c = NodeConfig.builder().secret(s).build();
        assertFalse(c.toString().contains(GOOD));
        assertEquals(s, c.toBuilder().build().secret());
    }
}
