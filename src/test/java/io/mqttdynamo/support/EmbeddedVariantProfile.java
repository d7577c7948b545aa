package io.mqttdynamo.support;

import java.util.HashMap;
import java.util.Map;

/**
 * The embedded set-up ({@link EmbeddedBrokerProfile}) with the settings its own tests need and the main
 * profile's tests must not see, one application for all of them (each profile boots the service once more):
 * <ul>
 * <li>{@code acks.delete-message}: an acknowledged message's mqtt_msg item is deleted (queue semantics);</li>
 * <li>client events through a shared subscription, {@link #SHARED_EVENTS}, which a test joins;</li>
 * <li>the HTTP server behind the PROXY protocol, so that a test arrives as a remote peer over loopback
 * ({@link Readiness} speaks it too), with {@code mqtt-dynamo.example} an allowed host name.</li>
 * </ul>
 * A test that needs another setting adds it here when no test of this profile notices it.
 */
public class EmbeddedVariantProfile extends EmbeddedBrokerProfile {

    public static final String SHARED_EVENTS = "$share/mqtt-dynamo/$SYS/brokers/+/clients/#";
    public static final String ALLOWED_HOST = "mqtt-dynamo.example";

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> config = new HashMap<>(super.getConfigOverrides());
        config.put("mqtt-dynamo.acks.delete-message", "true");
        config.put("mqtt-dynamo.events.topic", SHARED_EVENTS);
        config.put("quarkus.http.proxy.use-proxy-protocol", "true");
        config.put("mqtt-dynamo.dashboard.allowed-hosts", ALLOWED_HOST);
        return config;
    }
}
