package io.mqttdynamo.support;

import java.util.UUID;

/**
 * A name for this test JVM's run, so that topics, client ids and shared-subscription groups on a broker
 * that outlives the tests (Mosquitto) never meet an earlier run's. Kept in a system property because
 * test profiles are loaded by more than one class loader.
 */
public final class TestRun {

    private TestRun() {}

    public static String id() {
        synchronized (System.class) {
            String id = System.getProperty("io.mqttdynamo.test.run");
            if (id == null) {
                id = UUID.randomUUID().toString().substring(0, 8);
                System.setProperty("io.mqttdynamo.test.run", id);
            }
            return id;
        }
    }
}
