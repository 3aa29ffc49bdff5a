/**
 * Internal: the JMH benchmarks, the harness programs they compare (child JVMs, HTTP and membership harnesses, the
 * local demo) and their results table. Programs, not a library: nothing here is API, and they print and exit.
 */
package io.flotilla.bench;
