/**
 * Test support for the project's own tests (core's test-jar): {@code ManualClock}, {@code Await}, {@code
 * InMemoryNetwork}, {@code InMemoryHandshake}, {@code InMemoryCluster} and friends. Internal to the project's
 * build, no compatibility promise; every test that needs time or a network uses these instead of sleeping or
 * sockets. Each type's javadoc states its threading.
 */
package io.flotilla.testing;
