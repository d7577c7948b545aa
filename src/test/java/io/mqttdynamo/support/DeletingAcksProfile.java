package io.mqttdynamo.support;

import java.util.HashMap;
import java.util.Map;

/** The embedded broker set-up with queue semantics: an acknowledged message's mqtt_msg item is deleted. */
public class DeletingAcksProfile extends EmbeddedBrokerProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> config = new HashMap<>(super.getConfigOverrides());
        config.put("mqtt-dynamo.acks.delete-message", "true");
        return config;
    }
}
