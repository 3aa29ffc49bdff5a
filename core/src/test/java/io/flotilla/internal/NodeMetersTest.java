package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.Delivery;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class NodeMetersTest {
    private static int percentilesAfterOneSend(SimpleMeterRegistry registry) {
        NodeMeters meters = new NodeMeters(registry, () -> 0, () -> 0);
        meters.latency.get(Delivery.RECEIVED).record(250, TimeUnit.MICROSECONDS);
        return meters.latency.get(Delivery.RECEIVED).takeSnapshot().percentileValues().length;
    }

    @Test
    void sendLatencyHasNoClientSidePercentilesUnlessTheApplicationsRegistryAsksForThem() {
        assertEquals(0, percentilesAfterOneSend(new SimpleMeterRegistry()));

        SimpleMeterRegistry configured = new SimpleMeterRegistry();
        configured.config().meterFilter(new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                return id.getName().startsWith("flotilla.send.latency")
                        ? DistributionStatisticConfig.builder().percentiles(0.5, 0.99).build().merge(config)
                        : config;
            }
        });
        assertEquals(2, percentilesAfterOneSend(configured));
    }
}
