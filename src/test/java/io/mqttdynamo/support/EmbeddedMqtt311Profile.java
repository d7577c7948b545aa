package io.mqttdynamo.support;

import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * The embedded set-up ({@link EmbeddedBrokerProfile}) with a broker that refuses MQTT 5, and the settings of
 * tests that speak HTTP only, one application for all of them (each profile boots the service once more):
 * <ul>
 * <li>{@code embedded-broker.mqtt5=false}: the service falls back to MQTT 3.1.1 (test clients of MQTT 5 are
 * refused too);</li>
 * <li>dashboard login on ({@link #USERNAME}, {@link #PASSWORD}): probes and metrics stay open;</li>
 * <li>at most two live streams at a time, each ending after five seconds.</li>
 * </ul>
 * A test that needs another setting adds it here when no test of this profile notices it.
 */
public class EmbeddedMqtt311Profile extends EmbeddedBrokerProfile {

    public static final String USERNAME = "operator";
    public static final String PASSWORD = "s3cret-pass";

    /** The value of an {@code Authorization} header with the dashboard's credentials. */
    public static String basicAuthorization() {
        return "Basic " + Base64.getEncoder().encodeToString((USERNAME + ":" + PASSWORD).getBytes());
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> config = new HashMap<>(super.getConfigOverrides());
        config.put("mqtt-dynamo.embedded-broker.mqtt5", "false");
        config.put("mqtt-dynamo.dashboard.auth.enabled", "true");
        config.put("mqtt-dynamo.dashboard.auth.username", USERNAME);
        config.put("mqtt-dynamo.dashboard.auth.password", PASSWORD);
        config.put("mqtt-dynamo.dashboard.live.max-streams", "2");
        config.put("mqtt-dynamo.dashboard.live.max-age", "PT5S");
        return config;
    }
}
