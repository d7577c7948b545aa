package io.mqttdynamo.support;

import java.time.Duration;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Awaitility's defaults for every test class (registered in {@code META-INF/services}; JUnit's extension
 * auto-detection is on through quarkus-junit): the first check at once, then every {@link #POLL_INTERVAL}.
 * Awaitility's own defaults wait 100 ms before the first check and between checks, which adds up over the
 * suite's hundreds of waits. A wait that wants another pace still says so ({@code pollInterval}, {@code pollDelay}).
 */
public class AwaitilityDefaults implements BeforeAllCallback {

    static final Duration POLL_INTERVAL = Duration.ofMillis(50);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        // A @QuarkusTest class runs in its application's class loader, which may hold its own Awaitility.
        Class<?> awaitility = Class.forName(
                "org.awaitility.Awaitility",
                true,
                context.getRequiredTestClass().getClassLoader());
        awaitility.getMethod("setDefaultPollDelay", Duration.class).invoke(null, Duration.ZERO);
        awaitility.getMethod("setDefaultPollInterval", Duration.class).invoke(null, POLL_INTERVAL);
    }
}
