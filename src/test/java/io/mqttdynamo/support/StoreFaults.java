package io.mqttdynamo.support;

import java.time.Duration;
import java.util.Set;

/** Delays or failures the {@link DynamoDbProxy} of {@link BrokerFaultsProfile} gives the service's writes. */
public final class StoreFaults {

    // Kept in system properties, which the test and the proxy's resource (another class loader) share.

    private static final String DELAY = "io.mqttdynamo.test.store-faults.delay-millis";
    private static final String FAIL = "io.mqttdynamo.test.store-faults.fail";
    private static final Set<String> WRITES = Set.of("BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem");

    private StoreFaults() {}

    /** Every write is held this long before it is forwarded. */
    public static void delayWrites(Duration delay) {
        System.setProperty(DELAY, Long.toString(delay.toMillis()));
    }

    /** Every write is answered with a 500 (the service retries it until this ends). */
    public static void failWrites() {
        System.setProperty(FAIL, "true");
    }

    /** Writes pass unharmed again. */
    public static void clear() {
        System.clearProperty(DELAY);
        System.clearProperty(FAIL);
    }

    /** The proxy's fault function. */
    static DynamoDbProxy.Fault apply(DynamoDbProxy.Request request) {
        if (!WRITES.contains(request.operation())) {
            return null;
        }
        if (Boolean.getBoolean(FAIL)) {
            return DynamoDbProxy.Fault.error(500, "InternalServerError", "failed by the test");
        }
        long delay = Long.getLong(DELAY, 0);
        return delay > 0 ? DynamoDbProxy.Fault.delay(Duration.ofMillis(delay)) : null;
    }
}
