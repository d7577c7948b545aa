package io.mqttdynamo.support;

import java.time.Duration;

/**
 * What the tests of the service on the embedded broker ({@link EmbeddedBrokerProfile}) share besides
 * {@link ServiceTest}: the broker's port and a time-out.
 */
public abstract class EmbeddedBrokerTest extends ServiceTest {

    protected static final Duration TIMEOUT = Duration.ofSeconds(20);
    protected static final int PORT = EmbeddedBrokerProfile.brokerPort();
}
